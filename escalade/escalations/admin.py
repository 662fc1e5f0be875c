"""Escalations and their request history, shown and never rewritten (levels, reasons, requesters,
acknowledgements and outcomes are what happened)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from escalade.escalations.models import Escalation, EscalationRequest
from escalade.incidents.admin import ReadOnly


class RequestInline(ReadOnly, admin.TabularInline):
    model = EscalationRequest
    extra = 0
    fields = readonly_fields = ("requested_at", "requester_label", "requester_role", "channel", "outcome",
                                "code", "reason")


class StaffViews:
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


@admin.register(Escalation)
class EscalationAdmin(StaffViews, ReadOnly, admin.ModelAdmin):
    list_display = ("id", "incident", "level", "requester_label", "channel", "granted_at", "acknowledged_at",
                    "acknowledged_label")
    list_filter = ("level", "channel")
    search_fields = ("incident__request_number",)
    inlines = [RequestInline]


@admin.register(EscalationRequest)
class EscalationRequestAdmin(StaffViews, ReadOnly, admin.ModelAdmin):
    list_display = ("incident", "requested_level", "outcome", "code", "requester_label", "channel", "requested_at")
    list_filter = ("outcome", "channel")
