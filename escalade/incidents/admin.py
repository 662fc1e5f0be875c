from django.contrib import admin

from escalade.incidents.models import (
    Contract,
    Customer,
    Incident,
    IncidentPause,
    Partner,
    TimelineEvent,
)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


class ContractInline(admin.StackedInline):
    model = Contract


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "partner")
    list_filter = ("partner",)
    search_fields = ("code", "name")
    inlines = [ContractInline]


class PauseInline(admin.TabularInline):
    model = IncidentPause
    extra = 0


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "occurred_at", "recorded_at", "actor_label", "channel", "data")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # the timeline is append-only, written by the services


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "request_number", "customer", "priority", "track", "status",
        "take_charge_due_at", "resolution_due_at", "allowed_level", "escalated_level",
    )
    list_filter = ("priority", "status", "track", "customer")
    search_fields = ("request_number", "title")
    readonly_fields = (
        "take_charge_due_at", "take_charge_state", "resolution_due_at", "resolution_state",
        "allowed_level", "escalated_level", "evaluated_at", "next_change_at",
    )
    inlines = [PauseInline, TimelineInline]
