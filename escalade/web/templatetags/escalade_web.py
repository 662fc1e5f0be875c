"""Small display helpers: durations in hours and minutes, instants for the live clocks, a
commitment's state badge and clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from django import template
from django.template.context import Context
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext

from escalade.core.messages import format_duration
from escalade.escalations.models import Escalation
from escalade.incidents.models import Channel
from escalade.web.charts import percent_text
from escalade.web.present import priority_label
from escalade.web.templatetags.kept_urls import kept_reverse

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """The core's one duration format: '45 mn', '2 h', '1 h 05'."""
    if value is None:
        return "—"
    return format_duration(max(value, timedelta(0)))


@register.filter
def minutes(value: float | None) -> str:
    """A report's duration in minutes as people read it: 3248.5 → '54 h 08'."""
    return "—" if value is None else duration(timedelta(minutes=value))


@register.filter
def pct(value: float | None) -> str:
    """One percentage format in tables and charts: '66,7 %' in French, '66.7%' in English."""
    return "—" if value is None else percent_text(value)


@register.filter
def get(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key, "")


@register.filter
def iso(value: datetime | None) -> str:
    """UTC ISO-8601 for the live clocks' data attributes."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@register.filter
def priority(value: str) -> str:
    return priority_label(value)


# The feed's items and the dashboard's rows write these for up to 108 escalations every 3 seconds
# and 50 incidents every 30: Django's `date` filter (a format parsed per call) and
# `get_channel_display` (the choices' labels translated per call) were a quarter of the feed's time.
# Same texts (tests/web/test_templatetags.py).
def day_time(value: datetime | None) -> str:
    """`value|date:"d/m/Y H:i"`: the instant in the current zone; "" for None."""
    return "" if value is None else localtime(value).strftime("%d/%m/%Y %H:%M")


def day_month_time(value: datetime | None) -> str:
    """`value|date:"d/m H:i"`."""
    return "" if value is None else localtime(value).strftime("%d/%m %H:%M")


# The feed's items, written in Python as `state_badge` is: up to 108 of them every 3 seconds for
# each open dashboard, and about half of a dashboard's time as a template (variables, `{% url %}`,
# `{% blocktranslate %}` and filters, some 25 nodes an item). The same HTML as that template's
# (tests/web/test_templatetags.py keeps it as the reference).
_PENDING = (
    '<li class="feed-item pending{}" id="esc-{}">\n'
    '  <p><a href="{}"><strong>{}</strong></a> · <a href="{}">{}</a> · {}</p>\n'
    '  <p><strong class="level-badge">{}</strong> · {} · {} · {}</p>\n'
    '  <p class="reason">« {} »</p>\n'
    '  <form method="post" action="{}" hx-post="{}" hx-target="#feed" hx-swap="innerHTML">{}\n'
    '    <span class="state st-breached"><span aria-hidden="true" class="dot"></span>{}</span>\n'
    '    <button type="submit" class="primary small">{}</button>\n'
    '  </form>\n'
    '</li>'
)
_DONE = (
    '<li class="feed-item" id="esc-{}">\n'
    '  <p><a href="{}"><strong>{}</strong></a> · <a href="{}">{}</a> · {} · {}</p>\n'
    '  <p class="state st-met"><span aria-hidden="true" class="dot"></span>{}</p>\n'
    '</li>'
)


@register.simple_tag(takes_context=True)
def feed_pending(context: Context, escalation: Escalation, top_level: int) -> SafeString:
    """An escalation to acknowledge, with its acknowledgement form."""
    incident = escalation.incident
    number, ack = escalation.number, kept_reverse("acknowledge", [escalation.pk], {}, None)
    return format_html(
        _PENDING, " top-level" if escalation.level == top_level else "", escalation.pk,
        kept_reverse("escalation", [escalation.pk], {}, None), number,
        kept_reverse("incident", [incident.request_number], {}, None), incident.request_number, incident.customer.name,
        gettext("Niveau %(level)s") % {"level": escalation.level}, day_time(escalation.granted_at),
        channel_label(escalation.channel), escalation.requester_label, Truncator(escalation.reason).chars(140),
        ack, ack, CsrfTokenNode().render(context), gettext("À prendre en compte"),
        gettext("Prendre en compte %(number)s") % {"number": number},
    )


@register.simple_tag
def feed_done(escalation: Escalation) -> SafeString:
    """An escalation acknowledged in the last week."""
    incident = escalation.incident
    return format_html(
        _DONE, escalation.pk, kept_reverse("escalation", [escalation.pk], {}, None), escalation.number,
        kept_reverse("incident", [incident.request_number], {}, None), incident.request_number, incident.customer.name,
        gettext("Niveau %(level)s") % {"level": escalation.level},
        gettext("Prise en compte (%(who)s, %(when)s)") % {
            "who": escalation.acknowledged_label or "—",
            "when": day_month_time(escalation.acknowledged_at)},
    )


# A dashboard row (50 a page, and again every 30 seconds), written in Python for the same reason as
# the feed's items, with the same HTML as the template it replaces (tests keep it as the reference).
_ROW = (
    '\n<tr class="row-{}">\n'
    '  <td><a href="{}">{}</a><br><span class="muted">{}</span></td>\n'
    '  <td>{}</td>\n'
    '  <td><span class="prio prio-{}">{}</span></td>\n'
    '  {}\n'
    '  {}\n'
    '  <td data-label="{}">{}</td>\n'
    '  <td data-label="{}">{}</td>\n'
    '</tr>\n'
)
_ROW_COMMITMENT = '\n  <td>{}<br>{}<br>{}</td>\n  '


@register.simple_tag
def dashboard_row(card: Any, now: datetime) -> SafeString:
    """An open incident in the dashboard's table: its commitments, open level and escalated level."""
    incident = card.incident
    commitments = SafeString("".join(
        format_html(_ROW_COMMITMENT, day_month_time(c.due_at) or "—",
                    state_badge(c.state, c.state_label), clock(c, now))
        for c in card.commitments))
    open_level: SafeString | str = "—"
    if card.allowed:
        open_level = format_html("<strong>{}</strong>", gettext("niveau %(level)s") % {"level": card.level})
    escalated: SafeString | str = "—"
    if incident.escalated_level:
        escalated = format_html("{}{}", gettext("niveau %(level)s") % {"level": incident.escalated_level}, format_html(
            '<br><span class="state st-breached"><span aria-hidden="true" class="dot"></span>{}</span>',
            gettext("à prendre en compte")) if incident.awaiting_ack else "")
    return format_html(
        _ROW, card.worst_state, kept_reverse("incident", [incident.request_number], {}, None), incident.request_number,
        Truncator(incident.title).chars(48), incident.customer.name, incident.priority, card.priority_label,
        commitments,
        format_html('<td class="muted">{}</td>', gettext("sans GTR")) if card.no_resolution_commitment else "",
        gettext("Niveau ouvert"), open_level, gettext("Niveau escaladé"), escalated,
    )


@lru_cache(maxsize=8)
def _channel_labels(language: str | None) -> dict[str, str]:
    return {value: str(label) for value, label in Channel.choices}


def channel_label(value: str) -> str:
    """An escalation's or a timeline entry's `get_channel_display()`, in the active language."""
    return _channel_labels(get_language()).get(value, value)


# A dashboard renders 400 of these: Python rather than two included templates per commitment
# (their includes and translation tags were most of the page's time).
@register.simple_tag
def state_badge(state: str, label: str) -> SafeString:
    """A commitment's state as a coloured dot and its label."""
    return format_html('<span class="state st-{}"><span aria-hidden="true" class="dot"></span>{}</span>', state, label)


def live_duration(delta: timedelta) -> str:
    """A live clock's duration, to the second, in the core's units: '2 h 54 mn 06 s' (static/web/clocks.js
    writes the same from the units of `clock_units`)."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    d, h, m, s = clock_units().split()
    text = (f"{days} {d} " if days else "") + (f"{hours} {h} " if days or hours else "")
    return text + (f"{minutes:02d}" if days or hours else str(minutes)) + f" {m} {seconds:02d} {s}"


@register.simple_tag
def clock_units() -> str:
    """Day, hour, minute and second, as the core writes them ('mn', the procedure's)."""
    return gettext("j h mn s")


@register.simple_tag
def clock(commitment: Any, now: datetime) -> SafeString:
    """One commitment's live clock (static/web/clocks.js keeps the running and breached ones moving).
    It follows the state's badge, so it never repeats it: 'reste 2 h 54 mn 06 s', '35 mn 03 s de retard'."""
    state = commitment.state
    if state in ("running", "breached"):
        left, late = gettext("reste {}"), gettext("{} de retard")
        delta = commitment.due_at - now
        text = (left if state == "running" else late).replace("{}", live_duration(delta))
        return format_html('<span class="clock{}" role="timer" data-due="{}" data-left="{}" data-late="{}">{}</span>',
                           " over" if state == "breached" else "", iso(commitment.due_at), left, late, text)
    if state == "missed":
        return format_html('<span class="clock">{}</span>',
                           gettext("{} de retard").replace("{}", duration(commitment.overdue)))
    if state == "paused":
        return format_html('<span class="clock">{}</span>', gettext("décompte suspendu"))
    return SafeString("")  # met: the badge says it all
