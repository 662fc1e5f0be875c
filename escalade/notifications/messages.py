"""The words of every notification: subject, plain text, HTML and the short SMS/chat text.

Rendered at delivery time from the row's kind and objects, so a message shows the clocks as they
are when it leaves (a retried breach alert shows the overdue at the retry, not at the crossing). In
the recipient's language, from the catalogue: the row's `context["language"]` (a contact's
`language` in the policy, a requester's own choice), else French.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from escalade.core.messages import (
    commitment_label,
    format_duration,
    format_instant,
    national_phone,
    state_label,
)
from escalade.core.policy import Contact, Policy
from escalade.notifications import tokens
from escalade.notifications.models import DeliveryChannel, Notification, NotificationKind

# Kinds whose recipient is expected to act: they carry the one-click acknowledgement link.
ACTIONABLE = (NotificationKind.ESCALATION, NotificationKind.REMINDER)
# Alerts that may leave together, as one digest, when many are due for one address at once (a mass
# outage); an escalation or a reminder always leaves alone, with its acknowledgement link.
DIGESTIBLE = (NotificationKind.WARNING, NotificationKind.BREACH, NotificationKind.LEVEL_AVAILABLE)
DIGEST_SUBJECT_NUMBERS = 3  # request numbers named in a digest's subject


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    short: str
    headers: dict[str, str] = field(default_factory=dict)  # added to (or replacing) the e-mail's own
    sender: str = ""  # the e-mail's From; DEFAULT_FROM_EMAIL when empty


def _contact(contact: Contact, policy: Policy) -> dict[str, Any]:
    return {
        "name": contact.name,
        "role": contact.role,
        "level": contact.level,
        "email": contact.email,
        "phones": [
            {"e164": p, "display": national_phone(p, policy.phone_region)} for p in contact.phones
        ],
    }


def _level(notification: Notification) -> int:
    if notification.escalation is not None:
        return notification.escalation.level
    return int(notification.context.get("level") or 0)


def _subject(notification: Notification, request_number: str, level: int) -> str:
    return f"[Escalade] {request_number} — {_what(notification, level)}"


def _what(notification: Notification, level: int) -> str:
    """What the notification says happened, without the incident (a subject's end, a digest's line)."""
    kind = notification.kind
    ctx = notification.context
    commitment = commitment_label(str(ctx.get("commitment", "")))
    escalation = notification.escalation
    if kind == NotificationKind.ESCALATION:
        text = _("escalade niveau {level} à prendre en compte").format(level=level)
    elif kind == NotificationKind.ESCALATION_INFO:
        text = _("escalade niveau {level}, pour information").format(level=level)
    elif kind == NotificationKind.CONFIRMATION:
        number = escalation.number if escalation else ""
        text = _("votre demande d'escalade niveau {level} est enregistrée ({number})").format(
            level=level, number=number)
    elif kind == NotificationKind.REMINDER:
        text = _("relance {reminder} : escalade niveau {level} non prise en compte").format(
            reminder=ctx.get("reminder", ""), level=level)
    elif kind == NotificationKind.WARNING:
        text = _("délai de {commitment} bientôt dépassé").format(commitment=commitment)
    elif kind == NotificationKind.BREACH:
        text = _("délai de {commitment} dépassé").format(commitment=commitment)
    else:
        text = _("escalade de niveau {level} désormais possible").format(level=level)
    return text


def _contacts(policy: Policy, track: str, level: int) -> list[Contact]:
    """Whom the reader should call: the contacts of the level concerned, else of level 1."""
    return list(policy.contacts_for(level or 1, track))


def context(notification: Notification, now: datetime) -> dict[str, Any]:
    incident = notification.incident
    assert incident is not None, "every notification is about an incident"
    policy = incident.policy
    tz = policy.timezone
    evaluation = incident.evaluate(policy, now)
    level = _level(notification)
    commitments = []
    for status in evaluation.commitments.all():
        commitments.append(
            {
                "label": commitment_label(status.kind.value),
                "target": format_duration(status.target),
                "due_at": format_instant(status.due_at, tz) if status.due_at else _("suspendue (pause)"),
                "state": state_label(status.state.value),
                "overdue": format_duration(status.overdue) if status.overdue else "",
            }
        )
    priority = policy.priorities[incident.priority]
    track = policy.tracks.get(incident.track)
    escalation = notification.escalation
    ack_url = ""
    if escalation is not None and notification.kind in ACTIONABLE:
        token = tokens.ack_token(escalation.pk, notification.recipient_name or notification.recipient,
                                 notification.recipient)
        ack_url = settings.BASE_URL + reverse("ack", args=[token])
    crossing_at = notification.context.get("at")
    return {
        "kind": notification.kind,
        "subject": _subject(notification, incident.request_number, level),
        "recipient_name": notification.recipient_name,
        "incident": incident,
        "request_number": incident.request_number,
        "customer": incident.customer.name,
        "priority": priority.label,
        "track": track.label if track else incident.track,
        "track_phone": national_phone(track.phone, policy.phone_region) if track else "",
        "track_phone_e164": track.phone if track else "",
        "opened_at": format_instant(incident.opened_at, tz),
        "evaluated_at": format_instant(now, tz),
        "commitments": commitments,
        "commitment": commitment_label(str(notification.context.get("commitment", ""))),
        "crossing_at": format_instant(datetime.fromisoformat(crossing_at), tz) if crossing_at else "",
        "level": level,
        "allowed_level": evaluation.escalation.level,
        "decision": evaluation.escalation.message,
        "escalation": escalation,
        "escalation_number": escalation.number if escalation else "",
        "granted_at": format_instant(escalation.granted_at, tz) if escalation else "",
        "reminder": notification.context.get("reminder"),
        "contacts": [_contact(c, policy) for c in _contacts(policy, incident.track, level)],
        "ack_url": ack_url,
        "organisation": policy.organisation,
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "colon": _(" :"),  # "Nom : 04…" in French, "Name: 04…" in English
    }


def render(notification: Notification, now: datetime) -> Message:
    """Only the forms its channel uses: text and HTML for e-mail, the short text for apprise."""
    if notification.kind == NotificationKind.MAIL_REPLY:
        # Written when the message was decided: the answer is that decision, not a later one.
        text = str(notification.context.get("text", ""))
        # An answer in the sender's thread (RFC 5322 §3.6.4), from the address written to; RFC 3834:
        # robots do not answer an auto-replied message.
        thread = {"In-Reply-To": str(notification.context.get("in_reply_to", "")),
                  "References": str(notification.context.get("references", "")),
                  "Auto-Submitted": "auto-replied"}
        return Message(subject=str(notification.context.get("subject", "")), text=text,
                       html=f"<pre style=\"white-space:pre-wrap;font-family:inherit\">{escape(text)}</pre>",
                       short=text[:300], headers=thread, sender=settings.ESCALADE_MAIL_ADDRESS)
    with translation.override(language_of(notification)):
        return _render(notification, now)


def language_of(notification: Notification) -> str:
    """The recipient's language, recorded with the row; French (the default) when none was."""
    chosen = str(notification.context.get("language") or "")
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _render(notification: Notification, now: datetime) -> Message:
    ctx = context(notification, now)
    if notification.channel == DeliveryChannel.APPRISE:
        short = " ".join(render_to_string("notifications/short.txt", ctx).split())
        return Message(subject=ctx["subject"], text="", html="", short=short)
    return Message(
        subject=ctx["subject"],
        text=render_to_string("notifications/email.txt", ctx),
        html=render_to_string("notifications/email.html", ctx),
        short="",
    )


def render_digest(notifications: list[Notification], now: datetime) -> Message:
    """One e-mail for several alerts to one address (same language), most urgent first as given:
    a line per alert with its request number, what crossed, and the overdue now."""
    with translation.override(language_of(notifications[0])):
        items = [_digest_item(n, now) for n in notifications]
        numbers = [item["request_number"] for item in items]
        named = ", ".join(numbers[:DIGEST_SUBJECT_NUMBERS])
        more = len(numbers) - DIGEST_SUBJECT_NUMBERS
        alerts = ngettext("{count} alerte", "{count} alertes", len(items)).format(count=len(items))
        subject = (_("[Escalade] {alerts} : {numbers} et {more} autres").format(
            alerts=alerts, numbers=named, more=more) if more > 0 else
            _("[Escalade] {alerts} : {numbers}").format(alerts=alerts, numbers=named))
        first = notifications[0].incident
        assert first is not None
        policy = first.policy
        seen: set[Contact] = set()  # a person both contracts name (same details) is listed once
        contacts = []
        for n in notifications:  # each incident's own contract's contacts for its track and level, once each
            assert n.incident is not None
            own = n.incident.policy
            for contact in _contacts(own, n.incident.track, _level(n)):
                if contact not in seen:
                    seen.add(contact)
                    contacts.append(_contact(contact, own))
        ctx = {
            "subject": subject, "items": items, "alerts": alerts,
            "recipient_name": notifications[0].recipient_name, "contacts": contacts,
            "evaluated_at": format_instant(now, policy.timezone), "organisation": policy.organisation,
            "language": translation.get_language() or settings.LANGUAGE_CODE, "colon": _(" :"),
        }
        return Message(subject=subject, text=render_to_string("notifications/digest.txt", ctx),
                       html=render_to_string("notifications/digest.html", ctx), short="")


def _digest_item(notification: Notification, now: datetime) -> dict[str, Any]:
    incident = notification.incident
    assert incident is not None, "every notification is about an incident"
    policy = incident.policy
    overdue = ""
    commitment = str(notification.context.get("commitment", ""))
    if commitment:
        for status in incident.evaluate(policy, now).commitments.all():
            if status.kind.value == commitment and status.overdue:
                overdue = format_duration(status.overdue)
    return {
        "request_number": incident.request_number, "title": incident.title, "customer": incident.customer.name,
        "priority": policy.priorities[incident.priority].label, "what": _what(notification, _level(notification)),
        "overdue": overdue,
        "url": settings.BASE_URL + reverse("incident", args=[incident.request_number]),
    }
