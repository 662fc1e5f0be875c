"""A helpdesk's tickets as incident facts, through the incident services (so the timeline records each
fact with channel `sync` and the helpdesk's transaction), each change applied once; and what the
escalation decided, written back to the ticket as comments.

Mapping of a Request Tracker ticket (docs/helpdesks.md):
  - the ticket's creation opens the incident (`RT-<id>`, the queue's customer, the priority mapped
    from RT's number, the subject as title, opened at the ticket's creation);
  - the first move out of `new` (or the first owner) is the take-charge;
  - `stalled` pauses the clocks ("waiting for the customer"), leaving it resumes them;
  - `resolved` resolves; leaving `resolved` reopens; a changed priority changes the priority.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from escalade.errors import ServiceError
from escalade.escalations.models import Escalation
from escalade.incidents.models import Channel, Incident, IncidentPause
from escalade.incidents.services import IncidentInput, upsert_incident
from escalade.sync.models import AppliedChange, SyncState
from escalade.sync.rt import RequestTracker, instant
from escalade.sync.snapshot import record_fact

log = logging.getLogger("escalade.sync")
WAITING = ("stalled",)
DONE = ("resolved",)
ACTIVE = ("open",)
OVERLAP = timedelta(seconds=2)  # the next poll reads again the last seconds (changes at the same second)


@dataclass
class SyncReport:
    tickets: int = 0
    applied: int = 0
    comments: int = 0
    errors: list[str] = field(default_factory=list)


def _once(connector: str, key: str, number: str, summary: str, apply: Callable[[], Any]) -> bool:
    """Apply a change unless it was applied already (by the poll or the webhook): True if applied."""
    try:
        with transaction.atomic():
            AppliedChange.objects.create(connector=connector, key=key, request_number=number, summary=summary[:300])
            apply()
    except IntegrityError:
        return False
    return True


def sync_ticket(rt: RequestTracker, ticket_id: int, now: datetime, ticket: dict[str, Any] | None = None,
                history: list[dict[str, Any]] | None = None) -> int:
    """Apply every transaction of the ticket not applied yet, oldest first; returns how many. The
    poll passes the ticket and its transactions it read by page; the webhook reads them here."""
    ticket = ticket if ticket is not None else rt.ticket(ticket_id)
    number = f"{rt.settings.number_prefix}{ticket_id}"
    applied = 0
    for txn in sorted(history if history is not None else rt.transactions(ticket_id), key=lambda t: int(t["id"])):
        change = _change_of(rt, ticket, number, txn, now)
        if change is None:
            continue
        summary, apply = change
        if _once(rt.name, f"txn:{txn['id']}", number, summary, apply):
            applied += 1
    return applied


def _change_of(rt: RequestTracker, ticket: dict[str, Any], number: str, txn: dict[str, Any],
               now: datetime) -> tuple[str, Callable[[], Any]] | None:
    kind, fld = txn.get("Type"), txn.get("Field") or ""
    at = instant(txn.get("Created")) or now
    at = min(at, now)
    if kind == "Create":
        data = IncidentInput(request_number=number, customer=rt.settings.customer_of(ticket["QueueName"]),
                             priority=rt.settings.priority_of(_initial_priority(ticket)),
                             opened_at=(instant(ticket.get("Created")) or at).isoformat(),
                             title=str(ticket.get("Subject") or "")[:300])
        return "création", lambda: upsert_incident(data, user=None, channel=Channel.SYNC, now=now)
    incident = Incident.objects.filter(request_number=number).first()
    if incident is None:
        return None  # a ticket created before the sync began: its Create came first (back-fill)
    if kind == "Status" or (kind == "Set" and fld == "Status"):
        return _status_change(incident, str(txn.get("OldValue") or ""), str(txn.get("NewValue") or ""), at, now)
    if kind in ("Take", "Give", "Steal", "Force") or (kind == "Set" and fld == "Owner"):
        if incident.acknowledged_at is None:
            return "propriétaire", lambda: record_fact(incident, "acknowledge", at, now)
        return None
    if kind == "Set" and fld == "Priority":
        wanted = rt.settings.priority_of(txn.get("NewValue"))
        return f"priorité {wanted}", lambda: _priority(incident, wanted, at, now)
    return None


def _initial_priority(ticket: dict[str, Any]) -> object:
    """The priority the ticket was created with (RT keeps it when set), else its current one."""
    initial = str(ticket.get("InitialPriority") or "0")
    return initial if initial != "0" else ticket.get("Priority") or 0


def _status_change(incident: Incident, old: str, new: str, at: datetime,
                   now: datetime) -> tuple[str, Callable[[], Any]] | None:
    steps: list[str] = []
    if old in DONE and new not in DONE:
        steps.append("reopen")
    if old in WAITING and new not in WAITING:
        steps.append("resume")
    if old == "new" and new != "new":
        steps.append("acknowledge")
    if new in WAITING:
        steps.append("pause")
    if new in DONE:
        steps.append("resolve")
    if not steps:
        return None

    def apply() -> None:
        for kind in steps:
            fresh = Incident.objects.get(pk=incident.pk)
            if kind == "acknowledge" and fresh.acknowledged_at is not None:
                continue
            if kind == "resume" and not IncidentPause.objects.filter(incident=fresh, end__isnull=True).exists():
                continue
            record_fact(fresh, kind, at, now)

    return f"statut {old} → {new}", apply


def _priority(incident: Incident, wanted: str, at: datetime, now: datetime) -> None:
    if Incident.objects.filter(pk=incident.pk, priority=wanted).exists():
        return
    record_fact(incident, "change_priority", at, now, priority=wanted)


def poll(rt: RequestTracker, now: datetime, since: datetime | None = None,
         progress: Callable[[int], object] | None = None) -> SyncReport:
    """Every ticket changed since the cursor (or `since`, a back-fill), then the comments to write.
    A ticket that cannot be applied (an unknown customer) is reported and the others go on; the
    cursor moves only past what was read."""
    state, _created = SyncState.objects.get_or_create(connector=rt.name)
    cursor = since or state.cursor
    report = SyncReport()
    started = now
    try:  # by pages: a hundred tickets, then all their transactions, in two or three REST calls
        for page in rt.changed(cursor):
            histories = rt.histories([int(t["id"]) for t in page])
            for ticket in page:
                ticket_id = int(ticket["id"])
                try:
                    report.applied += sync_ticket(rt, ticket_id, now, ticket, histories[ticket_id])
                except ServiceError as exc:
                    report.errors.append(f"ticket {ticket_id} : {exc.detail}")
                report.tickets += 1
                if progress:
                    progress(1)
    except ServiceError:
        raise
    except Exception as exc:  # the helpdesk is unreachable: the lag grows, the cursor stays
        _failed(state, f"{rt.name} injoignable : {exc}", now)
        raise
    report.comments = write_comments(rt, now)
    state.cursor = started - OVERLAP
    state.last_success_at = now
    if report.errors:  # refused tickets: fixed in the mapping, then read again with `--since`
        state.last_error, state.last_error_at = "\n".join(report.errors)[:4000], now
    else:
        state.last_error = ""
    state.save()
    return report


def _failed(state: SyncState, message: str, now: datetime) -> None:
    state.last_error, state.last_error_at = message[:4000], now
    state.save(update_fields=["last_error", "last_error_at"])


def write_comments(rt: RequestTracker, now: datetime) -> int:
    """What the escalation decided, on the ticket: each granted escalation and each acknowledgement,
    once (recorded after the helpdesk accepted it). The database gives only the escalations with a
    comment still to write, rather than every escalation of every pass."""
    written = 0
    for escalation in _awaiting_comments(rt):
        ticket_id = rt.ticket_id(escalation.incident.request_number)
        if ticket_id is None:
            continue
        done = {step for step in COMMENT_STEPS if getattr(escalation, f"{step}_commented")}
        for key, text in _comments(escalation):
            if key.rsplit(":", 1)[1] in done:
                continue
            rt.comment(ticket_id, text)
            AppliedChange.objects.get_or_create(connector=rt.name, key=key,
                                                defaults={"request_number": escalation.incident.request_number,
                                                          "summary": text.splitlines()[0][:300]})
            written += 1
    return written


COMMENT_STEPS = ("granted", "acknowledged")  # the last part of a comment's key (`_comments`)


def _awaiting_comments(rt: RequestTracker) -> QuerySet[Escalation]:
    """The escalations with a comment still to write, each annotated with which ones are written
    (`granted_commented`, `acknowledged_commented`): one query."""
    def commented(step: str) -> Exists:
        key = Concat(Value("comment:"), Cast(OuterRef("pk"), CharField()), Value(f":{step}"))
        return Exists(AppliedChange.objects.filter(connector=rt.name, key=key))

    return (Escalation.objects.select_related("incident")
            .filter(incident__request_number__startswith=rt.settings.number_prefix)
            .annotate(**{f"{step}_commented": commented(step) for step in COMMENT_STEPS})
            .filter(Q(granted_commented=False) | Q(acknowledged_at__isnull=False, acknowledged_commented=False))
            .order_by("pk"))


def _comments(escalation: Escalation) -> list[tuple[str, str]]:
    incident = escalation.incident
    policy = incident.policy
    contacts = ", ".join(f"{c.name} ({c.email})" for c in policy.contacts_for(escalation.level, incident.track))
    found = [(f"comment:{escalation.pk}:granted",
              f"Escalade de niveau {escalation.level} accordée le "
              f"{timezone.localtime(escalation.granted_at, policy.timezone):%d/%m/%Y à %H:%M}.\n"
              f"Demandée par : {escalation.requester_label or 'système'}\nMotif : {escalation.reason}\n"
              f"Contacts prévenus : {contacts}")]
    if escalation.acknowledged_at is not None:
        found.append((f"comment:{escalation.pk}:acknowledged",
                      f"Escalade de niveau {escalation.level} prise en compte le "
                      f"{timezone.localtime(escalation.acknowledged_at, policy.timezone):%d/%m/%Y à %H:%M} par "
                      f"{escalation.acknowledged_label or "l'équipe"}."))
    return found


def status(connector: str, now: datetime) -> dict[str, Any]:
    """The connector's sync as it last left it; late (`ok` false) when none succeeded for
    `ESCALADE_SYNC_LAG_SECONDS`, or none ever has (/healthz and the staff dashboard)."""
    limit = settings.ESCALADE_SYNC_LAG_SECONDS
    state = SyncState.objects.filter(connector=connector).first()
    if state is None:
        return {"connector": connector, "cursor": None, "last_success_at": None, "lag_seconds": None,
                "last_error": "", "applied": 0, "ok": False, "limit_seconds": limit}
    lag = (now - state.last_success_at).total_seconds() if state.last_success_at else None
    return {"connector": connector, "cursor": state.cursor, "last_success_at": state.last_success_at,
            "lag_seconds": lag, "last_error": state.last_error, "last_error_at": state.last_error_at,
            "applied": AppliedChange.objects.filter(connector=connector, key__startswith="txn:").count(),
            "ok": lag is not None and lag <= limit, "limit_seconds": limit}
