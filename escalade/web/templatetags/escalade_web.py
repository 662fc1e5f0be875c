"""Small display helpers: durations in hours and minutes, instants for the live clocks, a
commitment's state badge and clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timeuntil
from django.utils.translation import gettext

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


# A dashboard renders 400 of these: Python rather than two included templates per commitment
# (their includes and translation tags were most of the page's time).
@register.simple_tag
def state_badge(state: str, label: str) -> SafeString:
    """A commitment's state as a coloured dot and its label."""
    return format_html('<span class="state st-{}"><span aria-hidden="true" class="dot"></span>{}</span>', state, label)


@register.simple_tag
def clock(commitment: Any, now: datetime) -> SafeString:
    """One commitment's live clock (static/web/clocks.js keeps the running and breached ones moving)."""
    state = commitment.state
    if state in ("running", "breached"):
        left, over = gettext("reste"), gettext("dépassé de")
        text = f"{left} {timeuntil(commitment.due_at, now)}" if state == "running" else \
            f"{over} {duration(commitment.overdue)}"
        return format_html('<span class="clock{}" role="timer" data-due="{}" data-left="{}" data-over="{}">{}</span>',
                           " over" if state == "breached" else "", iso(commitment.due_at), left, over, text)
    if state == "missed":
        return format_html('<span class="clock">{} {}</span>', gettext("dépassé de"), duration(commitment.overdue))
    if state == "paused":
        return format_html('<span class="clock">{}</span>', gettext("décompte suspendu"))
    return format_html('<span class="clock">{}</span>', gettext("tenu"))
