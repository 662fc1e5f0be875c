"""Delivering the outbox, at least once.

A row is claimed with a lease (pending → sending, conditional, so any number of workers and task
runners can try the same row and exactly one wins); the claim counts as an attempt. Success marks it
sent; failure puts it back to pending after an exponential backoff, or dead after the last attempt.
A worker killed mid-send leaves its row "sending": once the lease expires, `requeue_expired` puts it
back, so it is sent again (the duplicate carries the same Message-ID). When the database goes away
mid-send, what this process decided is written as soon as it answers again (`_Unrecorded`): a message
that left is not sent twice, a claimed row not yet sent does not wait for its lease.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from escalade import compiled
from escalade.incidents.services import with_pauses
from escalade.notifications import conf
from escalade.notifications.channels import CHANNELS, PermanentDeliveryError, smtp_session
from escalade.notifications.messages import DIGESTIBLE, language_of, render, render_digest
from escalade.notifications.models import DeliveryChannel, DeliveryStatus, Notification

logger = logging.getLogger("escalade.delivery")

PENDING, SENDING, SENT, DEAD = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DEAD,
)


def _claimed(now: datetime) -> dict[str, object]:
    return {"status": SENDING, "claimed_until": now + conf.lease(), "attempts": F("attempts") + 1}


def claim(pk: int, now: datetime) -> bool:
    """Take one due row; False when another worker has it, or it is sent, dead or not yet due."""
    return bool(
        Notification.objects.filter(pk=pk, status=PENDING, next_attempt_at__lte=now).update(**_claimed(now))
    )


def claim_due(now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due rows, the most urgent first. On PostgreSQL in one statement batch,
    skipping rows another worker is claiming; elsewhere one conditional update per row."""
    _Unrecorded.flush()  # first what an outage left undecided in the database
    # The most urgent kind first (`Notification.rank`), read in order from its partial index.
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            # Compiled once per limit (`escalade.compiled`): senders claim a batch many times a second
            # in a mass outage, and Django wrote this SQL again each time.
            ids = [pk for (pk,) in compiled.fetch(("claim due", limit), lambda at: _due(at).select_for_update(
                skip_locked=True).values_list("pk")[:limit], now)]
            if ids:
                Notification.objects.filter(pk__in=ids).update(**_claimed(now))
        return ids
    return [pk for pk in _due(now).values_list("pk", flat=True)[:limit] if claim(pk, now)]


def _due(now: datetime) -> QuerySet[Notification]:
    return Notification.objects.filter(status=PENDING, next_attempt_at__lte=now).order_by("rank", "next_attempt_at", "pk")


DATABASE_DOWN = (OperationalError, InterfaceError)


class _Unrecorded:
    """What this process decided while the database could not be written, written as soon as it
    answers again: a message that left is recorded as sent (so it is not sent twice when its claim
    expires), a claimed row not sent yet is released at once (rather than after its lease)."""

    lock = threading.Lock()
    sent: dict[int, datetime] = {}
    released: set[int] = set()

    @classmethod
    def flush(cls) -> None:
        with cls.lock:
            sent, released = dict(cls.sent), set(cls.released)
            cls.sent.clear()
            cls.released.clear()
        try:
            for pk, at in sent.items():
                Notification.objects.filter(pk=pk).update(status=SENT, sent_at=at, claimed_until=None, last_error="")
            if released:
                Notification.objects.filter(pk__in=released, status=SENDING).update(status=PENDING, claimed_until=None)
        except DATABASE_DOWN:
            with cls.lock:
                cls.sent.update(sent)
                cls.released |= released
            raise

    @classmethod
    def release(cls, ids: list[int]) -> None:
        with cls.lock:
            cls.released.update(ids)


def _loaded(ids: list[int]) -> dict[int, Notification]:
    """The rows with what rendering reads (incident, customer, pauses, escalation), in two queries
    compiled once per number of rows (`escalade.compiled`): in a mass outage Django wrote the same SQL
    again and built each row through its iterable for every claimed batch, a quarter of the sender
    threads' time."""
    if not ids:
        return {}
    rows = compiled.fetch(("delivery", len(ids)), _renderable, *ids)
    incidents = [row.incident for row in rows if row.incident is not None]
    with_pauses(incidents)
    return {row.pk: row for row in rows}


def _renderable(*ids: int) -> QuerySet[Notification]:
    return (Notification.objects.select_related("incident", "incident__customer", "escalation",
                                                "escalation__incident").filter(pk__in=ids))


def send_claimed(pk: int, now: datetime, notification: Notification | None = None) -> str:
    """Render and send a row this worker has claimed (`notification` when already loaded); returns
    its new status."""
    try:
        if notification is None:
            notification = _loaded([pk])[pk]
    except DATABASE_DOWN:
        _Unrecorded.release([pk])
        raise
    try:
        CHANNELS[notification.channel].notify(notification, render(notification, now))
    except DATABASE_DOWN:  # rendering reads the database: not sent, released once it answers
        _Unrecorded.release([pk])
        raise
    except Exception as exc:  # any failure of rendering or channel: the row must not stay claimed
        return _failed(notification, exc, now)
    _mark_sent([pk], now)
    return SENT


def _mark_sent(pks: list[int], now: datetime) -> None:
    """Sent whoever holds the lease now: the message has left, saying otherwise would resend it.
    With the database away, recorded as soon as it answers again."""
    try:
        Notification.objects.filter(pk__in=pks).update(status=SENT, sent_at=now, claimed_until=None, last_error="")
    except DATABASE_DOWN:
        with _Unrecorded.lock:
            _Unrecorded.sent.update(dict.fromkeys(pks, now))
        raise


def _failed(notification: Notification, exc: Exception, now: datetime) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    permanent = isinstance(exc, PermanentDeliveryError)
    if permanent or notification.attempts >= conf.max_attempts():
        status, next_attempt_at = DEAD, notification.next_attempt_at
        logger.error("notification %s abandonnée après %s tentative(s) : %s",
                     notification.pk, notification.attempts, error)
    else:
        status, next_attempt_at = PENDING, now + conf.backoff(notification.attempts)
        logger.warning("notification %s : échec (tentative %s), nouvel essai à %s : %s",
                       notification.pk, notification.attempts, next_attempt_at, error)
    # Only the next attempt is recorded: the worker's sweep (`claim_due`) sends it when it is due.
    Notification.objects.filter(pk=notification.pk, status=SENDING).update(
        status=status, next_attempt_at=next_attempt_at, claimed_until=None, last_error=error
    )
    return status


def deliver(pk: int, now: datetime | None = None) -> str:
    """Claim and send one row. 'skipped' when it was not ours to send."""
    now = now or timezone.now()
    if not claim(pk, now):
        return "skipped"
    return send_claimed(pk, now)


def deliver_many(ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Claim and send several rows over one SMTP connection (the task's body)."""
    outcomes: dict[str, int] = {}
    with smtp_session():
        for pk in ids:
            outcome = deliver(pk, now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def send_all_claimed(ids: list[int], now: datetime) -> list[str]:
    """Send claimed rows in their order (the most urgent first), over one SMTP connection. Alerts
    to one e-mail address that are many (`conf.digest_from`) leave together as digests, where the
    first of them stood."""
    statuses: list[str] = []
    try:
        loaded = _loaded(ids)
    except DATABASE_DOWN:
        _Unrecorded.release(ids)
        raise
    units = _units(ids, loaded)
    with smtp_session():
        for done, unit in enumerate(units):
            try:
                if isinstance(unit, list):
                    statuses += send_digest(unit, now)
                else:
                    statuses.append(send_claimed(unit, now, loaded.get(unit)))
            except DATABASE_DOWN:
                _Unrecorded.release([pk for later in units[done + 1:] for pk in _pks(later)])  # claimed, never tried
                raise
    return statuses


def _pks(unit: int | list[Notification]) -> list[int]:
    return [row.pk for row in unit] if isinstance(unit, list) else [unit]


def _units(ids: list[int], loaded: dict[int, Notification]) -> list[int | list[Notification]]:
    """The claimed rows as they leave: alone, or as digests of up to `conf.digest_max` alerts to one
    e-mail address in one language, when that address has at least `conf.digest_from` of them."""
    least, most = conf.digest_from(), conf.digest_max()
    groups: dict[tuple[str, str], list[Notification]] = {}
    if least > 0:
        for pk in ids:
            row = loaded.get(pk)
            if row is not None and row.kind in DIGESTIBLE and row.channel == DeliveryChannel.EMAIL:
                groups.setdefault((row.recipient.lower(), language_of(row)), []).append(row)
    in_digest: dict[int, list[Notification]] = {}
    for rows in groups.values():
        # Within a digest: the most urgent kind, then the longest past its crossing, first.
        rows.sort(key=lambda n: (n.rank, str(n.context.get("at", "")), n.pk))
        for start in range(0, len(rows), most):
            chunk = rows[start:start + most]
            if len(chunk) >= least:  # too few (or a short remainder) leave alone
                for row in chunk:
                    in_digest[row.pk] = chunk
    units: list[int | list[Notification]] = []
    for pk in ids:
        chunk = in_digest.get(pk)
        if chunk is None:
            units.append(pk)
        elif chunk[0].pk == pk:
            units.append(chunk)
    return units


def send_digest(rows: list[Notification], now: datetime) -> list[str]:
    """Render and send claimed alerts as one e-mail; each row is then sent, or failed as it would
    have failed alone (its own attempts and backoff)."""
    try:
        CHANNELS[DeliveryChannel.EMAIL].notify_digest(rows, render_digest(rows, now))  # type: ignore[attr-defined]
    except DATABASE_DOWN:
        _Unrecorded.release([row.pk for row in rows])
        raise
    except Exception as exc:
        return [_failed(row, exc, now) for row in rows]
    _mark_sent([row.pk for row in rows], now)
    return [SENT] * len(rows)


def requeue_expired(now: datetime) -> int:
    """The audit: a claim whose lease passed belongs to a worker that died; send it again."""
    expired = Notification.objects.filter(status=SENDING, claimed_until__lt=now)
    dead = expired.filter(attempts__gte=conf.max_attempts()).update(
        status=DEAD, claimed_until=None, last_error="abandonnée : interrompue à chaque tentative"
    )
    return dead + expired.update(status=PENDING, claimed_until=None, next_attempt_at=now)
