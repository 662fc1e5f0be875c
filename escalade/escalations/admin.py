from django.contrib import admin

from escalade.escalations.models import Escalation, EscalationRequest


class RequestInline(admin.TabularInline):
    model = EscalationRequest
    extra = 0
    can_delete = False
    readonly_fields = ("requested_at", "requester_label", "requester_role", "channel", "outcome", "code", "reason")
    fields = readonly_fields


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ("id", "incident", "level", "requester_label", "channel", "granted_at", "acknowledged_at")
    list_filter = ("level", "channel")
    search_fields = ("incident__request_number",)
    inlines = [RequestInline]


@admin.register(EscalationRequest)
class EscalationRequestAdmin(admin.ModelAdmin):
    list_display = ("incident", "requested_level", "outcome", "code", "requester_label", "channel", "requested_at")
    list_filter = ("outcome", "channel")
