"""The administration of customers and incidents. History is append-only here too: incidents, their
pauses and their timeline are shown, never edited or deleted; facts change only through the actions
below, which call the services (so the timeline records them, in the administrator's name)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from escalade.errors import ServiceError
from escalade.incidents.models import (
    Channel,
    Contract,
    Customer,
    Incident,
    IncidentPause,
    Partner,
    TimelineEvent,
)
from escalade.incidents.services import apply_event


class ReadOnly:
    """Shown, never added, changed or deleted from the admin (the services write these rows)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


class PauseInline(ReadOnly, admin.TabularInline):
    model = IncidentPause
    extra = 0
    fields = readonly_fields = ("start", "end")


class TimelineInline(ReadOnly, admin.TabularInline):
    model = TimelineEvent
    extra = 0
    fields = readonly_fields = ("kind", "occurred_at", "recorded_at", "actor_label", "channel", "data", "hash")


def _event_action(kind: str, description: str) -> Any:
    @admin.action(description=description)
    def act(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        done = 0
        for incident in queryset:
            try:
                apply_event(incident, kind, user=request.user, channel=Channel.WEB,  # type: ignore[arg-type]
                            now=timezone.now())
                done += 1
            except ServiceError as exc:
                modeladmin.message_user(request, f"{incident.request_number} : {exc.detail}", messages.WARNING)
        if done:
            modeladmin.message_user(request, f"{done} incident(s) : {description.lower()}.", messages.SUCCESS)

    act.__name__ = f"do_{kind}"
    return act


@admin.register(Incident)
class IncidentAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "request_number", "customer", "priority", "track", "status",
        "take_charge_due_at", "resolution_due_at", "allowed_level", "escalated_level",
    )
    list_filter = ("status", "track", "customer")
    search_fields = ("request_number", "title")
    inlines = [PauseInline, TimelineInline]
    actions = [
        _event_action("acknowledge", "Prendre en charge maintenant"),
        _event_action("resolve", "Résoudre maintenant"),
        _event_action("reopen", "Rouvrir maintenant"),
        # Incidents are archived, never deleted (the database refuses DELETE).
        _event_action("archive", "Archiver (incidents résolus)"),
    ]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
