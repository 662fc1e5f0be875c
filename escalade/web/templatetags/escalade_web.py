"""Small display helpers: durations in hours and minutes, instants for the live clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template
from django.utils.translation import gettext as _

from escalade.web.present import priority_label

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """'45 min', '2 h', '1 h 05', '3 j 4 h' (days beyond 48 hours)."""
    if value is None:
        return "—"
    minutes = max(int(value.total_seconds() // 60), 0)
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return _("%(m)d min") % {"m": rest}
    if hours >= 100:  # targets up to 96 h read as the procedure writes them
        days, hours = divmod(hours, 24)
        return _("%(d)d j %(h)d h") % {"d": days, "h": hours}
    return f"{hours} h" if rest == 0 else f"{hours} h {rest:02d}"


@register.filter
def iso(value: datetime | None) -> str:
    """UTC ISO-8601 for the live clocks' data attributes."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@register.filter
def priority(value: str) -> str:
    return priority_label(value)
