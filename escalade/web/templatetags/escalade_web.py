"""Small display helpers: durations in hours and minutes, instants for the live clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template

from escalade.core.messages import format_duration
from escalade.web.present import priority_label

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """The core's one duration format: '45 mn', '2 h', '1 h 05'."""
    if value is None:
        return "—"
    return format_duration(max(value, timedelta(0)))


@register.filter
def iso(value: datetime | None) -> str:
    """UTC ISO-8601 for the live clocks' data attributes."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@register.filter
def priority(value: str) -> str:
    return priority_label(value)
