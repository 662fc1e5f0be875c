"""Writing notifications into the outbox. Always called inside the transaction of their cause."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from escalade import bulk
from escalade.core.policy import Contact, Policy
from escalade.notifications.models import DeliveryChannel, Notification, NotificationKind
from escalade.notifications.tasks import schedule, schedule_on_commit

if TYPE_CHECKING:  # the outbox is below the apps whose events it carries; it only reads them
    from escalade.accounts.models import User
    from escalade.escalations.models import Escalation
    from escalade.incidents.models import Incident


def idempotency_key(key: str, channel: str, recipient: str) -> str:
    """A row's cause and recipient, the outbox's unique key: one rule for both ways in (a row at a
    time, a worker's batch), so that they never write the same alert twice."""
    return f"{key}:{channel}:{recipient}"[:200]


def enqueue(
    *,
    kind: str,
    key: str,
    recipient: str,
    channel: str = DeliveryChannel.EMAIL,
    recipient_name: str = "",
    incident: Incident | None = None,
    escalation: Escalation | None = None,
    context: dict[str, object] | None = None,
    now: datetime | None = None,
) -> Notification | None:
    """One row per (cause, recipient): a second enqueue with the same key adds nothing.

    The delivery task is queued once the cause commits; if that is lost, the worker's sweep of due
    rows still sends it.
    """
    if not recipient:
        return None
    now = now or timezone.now()
    unique_key = idempotency_key(key, channel, recipient)
    try:
        with transaction.atomic():  # savepoint: a duplicate must not break the caller's transaction
            row = Notification.objects.create(
                kind=kind,
                channel=channel,
                recipient=recipient,
                recipient_name=recipient_name[:200],  # a long full name must not fail the cause
                incident=incident,
                escalation=escalation,
                context=context or {},
                idempotency_key=unique_key,
                created_at=now,
                next_attempt_at=now,
            )
    except IntegrityError:
        return Notification.objects.filter(idempotency_key=unique_key).first()
    schedule_on_commit(row.pk)
    return row


def _addresses(contacts: Iterable[Contact]) -> Iterable[tuple[Contact, str, str]]:
    """Each contact's e-mail, and every apprise URL (SMS, chat) configured for them in the policy."""
    for contact in contacts:
        yield contact, DeliveryChannel.EMAIL, contact.email
        for url in contact.apprise_urls:
            yield contact, DeliveryChannel.APPRISE, url


def _for(contact: Contact, context: dict[str, object]) -> dict[str, object]:
    """The row's context: the cause's, the contact's level, and the language they read."""
    own: dict[str, object] = {"contact_level": contact.level}
    if contact.language:
        own["language"] = contact.language
    return {**context, **own}


def enqueue_for_contacts(
    contacts: Iterable[Contact],
    *,
    kind: str,
    key: str,
    incident: Incident,
    escalation: Escalation | None = None,
    context: dict[str, object] | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """One row per contact address (`_addresses`), each with its delivery task."""
    rows = [
        enqueue(kind=kind, key=key, recipient=address, channel=channel, recipient_name=contact.name,
                incident=incident, escalation=escalation,
                context=_for(contact, context or {}), now=now)
        for contact, channel, address in _addresses(contacts)
    ]
    return [row for row in rows if row is not None]


def rows_for_contacts(
    contacts: Iterable[Contact], *, kind: str, key: str, incident: Incident, context: dict[str, object],
    now: datetime, escalation: Escalation | None = None,
) -> list[Notification]:
    """The rows `enqueue_for_contacts` would write, unsaved, for a bulk insert (`enqueue_rows`)."""
    return [
        _row(kind=kind, key=key, channel=channel, recipient=address, recipient_name=contact.name, incident=incident,
             escalation=escalation, context=_for(contact, context), now=now)
        for contact, channel, address in _addresses(contacts) if address
    ]


def _row(*, kind: str, key: str, channel: str, recipient: str, recipient_name: str, incident: Incident,
         escalation: Escalation | None, context: dict[str, object], now: datetime) -> Notification:
    return bulk.new(Notification, kind=kind, channel=channel, recipient=recipient,
                    recipient_name=recipient_name[:200],  # a long full name must not fail the cause
                    incident=incident, escalation=escalation, context=context,
                    idempotency_key=idempotency_key(key, channel, recipient), created_at=now, next_attempt_at=now)


def enqueue_rows(rows: list[Notification]) -> int:
    """Insert many rows at once; a row whose cause is already in the outbox adds nothing. No task is
    queued: the caller is the worker, whose senders (or sweep) deliver due rows anyway."""
    return bulk.insert_new(Notification, rows)


def recipients_named(policy: Policy, names: Iterable[str], track: str) -> list[Contact]:
    """Policy recipient names: "level1".."level3" (contacts of that level for the track) or emails."""
    found: list[Contact] = []
    for name in names:
        if name.startswith("level") and name[5:].isdigit():
            found.extend(policy.contacts_for(int(name[5:]), track))
        else:
            found.append(Contact(level=0, track="all", name=name, role="", phones=(), email=name))
    return found


def notify_escalation_granted(policy: Policy, escalation: Escalation, requester: User | None) -> None:
    """The contacts of the level act; lower levels are informed (by default); the requester gets a
    confirmation. One statement writes them all (a savepoint and an INSERT each took 12 round trips
    for a level-3 escalation), and one task, written in the same transaction, delivers them once the
    escalation commits."""
    incident = escalation.incident
    key = f"escalation:{escalation.pk}"
    now = escalation.granted_at

    def rows(kind: str, contacts: Iterable[Contact]) -> list[Notification]:
        return rows_for_contacts(contacts, kind=kind, key=key, incident=incident, escalation=escalation,
                                 context={}, now=now)

    written = rows(NotificationKind.ESCALATION, policy.contacts_for(escalation.level, incident.track))
    if policy.notifications.inform_lower_levels:
        for level in range(1, escalation.level):
            written += rows(NotificationKind.ESCALATION_INFO, policy.contacts_for(level, incident.track))
    if requester is not None and requester.email:
        written.append(_row(
            kind=NotificationKind.CONFIRMATION, key=key, channel=DeliveryChannel.EMAIL, recipient=requester.email,
            recipient_name=requester.get_full_name() or requester.username, incident=incident, escalation=escalation,
            context={"language": requester.language} if requester.language else {}, now=now,
        ))
    # A person in two of these lists (or twice in one) is written once: the first row of its key.
    schedule(sorted(bulk.insert_new_returning(Notification, written)))
