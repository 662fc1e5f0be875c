"""The one place that changes escalation state: request, grant, refuse, acknowledge.

API, pages, CLI and worker all call these; each runs in one transaction that records the request,
decides with the core, writes the escalation, the timeline and the outbox rows together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from escalade import bulk, compiled
from escalade.accounts.models import Role, User
from escalade.accounts.permissions import check_may_acknowledge, check_may_escalate_through
from escalade.accounts.throttle import spend
from escalade.core.contract import FactsError
from escalade.core.escalation import Evaluation, LevelCheck, check_requested_level, evaluate
from escalade.errors import NotFound, ServiceError
from escalade.escalations.models import Escalation, EscalationRequest, RequestOutcome
from escalade.incidents.evaluation import refresh, set_triage
from escalade.incidents.models import Channel, EventKind, Incident, in_scope
from escalade.incidents.services import lock_incident
from escalade.incidents.timeline import actor_label, record
from escalade.notifications.outbox import notify_escalation_granted
from escalade.policies import store


@dataclass(frozen=True)
class EscalationOutcome:
    """What a request led to. `escalation` is None when refused (see `check`)."""

    incident: Incident
    escalation: Escalation | None
    created: bool
    evaluation: Evaluation
    check: LevelCheck


def visible_escalations(user: User | None) -> QuerySet[Escalation]:
    # Scoped on the incident's customer in the join itself (an IN over the incidents' ids read every
    # incident of the organisation before the newest escalation could be picked).
    return in_scope(Escalation.objects.select_related("incident", "incident__customer"), user,
                    customer="incident__customer_id", partner="incident__customer__partner_id")


def get_visible_escalation(user: User | None, escalation_id: int) -> Escalation:
    escalation = visible_escalations(user).filter(pk=escalation_id).first()
    if escalation is None:
        raise NotFound("escalation_not_found", _("Aucune escalade n'a l'identifiant {id}.").format(id=escalation_id))
    return escalation


def check_request_number_given(request_number: object) -> str:
    """The procedure: every escalation request must carry the incident's request number (the
    core's check: present, and of the policy's pattern)."""
    try:
        return store.checked_request_number(request_number)
    except FactsError as exc:
        raise ServiceError(exc.code, exc.message, field=exc.field) from None


def request_escalation(
    *,
    user: User | None,
    request_number: object,
    reason: str,
    now: datetime,
    level: int | None = None,
    channel: str = Channel.WEB,
    on_behalf_of: str = "",
    sender_verified: bool = False,
) -> EscalationOutcome:
    """Ask for an escalation. Same level again returns the existing one, without notifying again.

    `user` None means the system itself (auto-escalation, as an internal resource);
    `sender_verified` says the mail service checked that `user` wrote the e-mail.
    """
    number = check_request_number_given(request_number)
    if not reason or not reason.strip():
        raise ServiceError("reason_required", _("Le motif de l'escalade est obligatoire."), field="reason")
    check_may_escalate_through(user, channel, on_behalf_of.strip(), sender_verified=sender_verified)
    if user is not None and not user.is_internal:
        # Counted before the number is looked up: probing numbers costs the same as asking.
        spend("escalations_per_user", f"user:{user.pk}", now, _("Trop de demandes d'escalade en peu de temps."))
    role = user.role if user is not None else Role.STAFF
    label = (actor_label(user) + (f" pour {on_behalf_of}" if on_behalf_of else ""))[:200]  # column size
    for attempt in range(3):
        try:
            with transaction.atomic():
                incident = lock_incident(user, number)  # with its pauses, for the evaluation and the status
                # Only in scope: nobody can use up the limit of someone else's incident.
                spend("escalations_per_incident", f"incident:{incident.pk}", now,
                      _("Trop de demandes d'escalade pour l'incident {number} en peu de temps.").format(number=number))
                return _decide_and_record(
                    incident, user, role, label, reason.strip(), level, channel, now
                )
        except IntegrityError:
            # Two first requests raced past the row lock (SQLite has none): the other one won.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _folded(history: dict[str, Any], outcome: str, code: str, now: datetime,
            granted: int | None = None) -> EscalationRequest | None:
    """The same ask again (same person, channel, level, reason and answer) within the fold window:
    counted on the earlier history entry, with no new entry nor timeline event; that entry, or None.
    With `granted`, the ask repeats that level's escalation: the entry is one of that escalation, and
    the escalation is read with it (a repeat under load is then one read, not two)."""
    since = now - timedelta(seconds=settings.ESCALATION_FOLD_SECONDS)
    level, user = history["requested_level"], history["requested_by"]
    # The SQL compiled once per shape (escalade.compiled): most requests under load are repeats, and
    # Django wrote this look-up again for each (with the level's, a repeat took 8.3-10.2 ms in
    # process; 5.0-5.4 ms compiled).
    values = (history["incident"].pk, *(() if level is None else (level,)), *(() if user is None else (user.pk,)),
              *map(str, (history["requester_label"], history["channel"], history["reason"], outcome, code)),  # enums' text
              since, since, *(() if granted is None else (granted,)))
    shape = (level is None, user is None, granted is not None)
    found = compiled.fetch(shape, _earlier_request(*shape), *values)
    if not found:
        return None
    earlier = found[0]
    # Read, then written: the incident's row is locked by the caller until it commits, so no other
    # request folds into the same entry meanwhile.
    earlier.repeat_count += 1
    earlier.last_requested_at = now
    bulk.update(EscalationRequest, [earlier], ["repeat_count", "last_requested_at"])
    return earlier


def _earlier_request(no_level: bool, no_user: bool, of_escalation: bool) -> Callable[..., QuerySet[EscalationRequest]]:
    """The latest history entry of the same ask within the window (`_folded`); a missing level or
    requester is part of the shape (IS NULL), the rest is bound. `of_escalation`: an entry of the
    escalation of a given level, read with it."""
    def build(incident_id: int, *rest: Any) -> QuerySet[EscalationRequest]:
        given = list(rest)
        level = None if no_level else given.pop(0)
        user = None if no_user else given.pop(0)
        label, channel, reason, outcome, code, since, also_since, *granted = given
        entries = (
            EscalationRequest.objects.filter(
                incident_id=incident_id, requested_level=level, requested_by_id=user, requester_label=label,
                channel=channel, reason=reason, outcome=outcome, code=code)
            .filter(Q(last_requested_at__gte=since) | Q(last_requested_at__isnull=True, requested_at__gte=also_since))
            .order_by("-id")
        )
        if of_escalation:
            return entries.filter(escalation__level=granted[0]).select_related("escalation").only(
                "id", "repeat_count", "last_requested_at", "escalation")[:1]
        return entries.only("id", "repeat_count", "last_requested_at")[:1]
    return build


def _escalation_at(incident_id: int, level: int) -> QuerySet[Escalation]:
    return Escalation.objects.filter(incident_id=incident_id, level=level)[:1]


def _decide_and_record(
    incident: Incident,
    user: User | None,
    role: str,
    label: str,
    reason: str,
    level: int | None,
    channel: str,
    now: datetime,
) -> EscalationOutcome:
    pol = incident.policy
    head = incident.timeline_head  # read with the lock (`lock_incident`): each path below appends once
    evaluation = evaluate(pol, incident.facts(), now)
    check = check_requested_level(evaluation.escalation, level, pol.levels)
    history = {
        "incident": incident,
        "requested_level": level,
        "requested_by": user,
        "requester_label": label,
        "requester_role": role,
        "channel": channel,
        "reason": reason,
        "requested_at": now,
    }
    if check.granted_level == 0:
        if _folded(history, RequestOutcome.REFUSED, check.code, now) is not None:
            return EscalationOutcome(incident, None, False, evaluation, check)
        bulk.create(EscalationRequest, outcome=RequestOutcome.REFUSED, code=check.code, **history)
        record(incident, EventKind.ESCALATION_REFUSED, now, user=user, channel=channel, label=label, head=head,
               requested_level=level, code=check.code, reason=reason)
        return EscalationOutcome(incident, None, False, evaluation, check)
    granted = check.granted_level
    escalation = None
    # `escalated_level` is the highest level granted (raised in the transaction of each grant, under
    # this row's lock): above it there is no escalation to find.
    if granted <= incident.escalated_level:
        earlier = _folded(history, RequestOutcome.REPEATED, check.code, now, granted)
        if earlier is not None:
            return EscalationOutcome(incident, earlier.escalation, False, evaluation, check)
        found = compiled.fetch("at level", _escalation_at, incident.pk, granted)
        escalation = found[0] if found else None
    created = escalation is None
    if escalation is None:
        escalation = bulk.create(
            Escalation,
            incident=incident,
            level=granted,
            requested_by=user,
            requester_label=label,
            requester_role=role,
            channel=channel,
            reason=reason,
            granted_at=now,
            next_reminder_at=now + pol.notifications.ack_reminder_after,
        )
        # The incident now waits for its acknowledgement (first in the dashboard's triage; the
        # refresh below stores the triage).
        incident.escalated_level = max(incident.escalated_level, granted)
        incident.awaiting_ack = True  # both saved by the refresh below, in this transaction
        record(incident, EventKind.ESCALATION_GRANTED, now, user=user, channel=channel, label=label, head=head,
               level=granted, escalation=escalation.pk, reason=reason)
        notify_escalation_granted(pol, escalation, user)
    else:
        record(incident, EventKind.ESCALATION_REQUESTED, now, user=user, channel=channel, label=label, head=head,
               level=granted, escalation=escalation.pk, repeated=True, reason=reason)
    bulk.create(
        EscalationRequest,
        escalation=escalation,
        outcome=RequestOutcome.GRANTED if created else RequestOutcome.REPEATED,
        code=check.code,
        **history,
    )
    # An escalation changes no fact: the same evaluation.
    refresh(incident, now, evaluation, also=("escalated_level", "awaiting_ack") if created else ())
    return EscalationOutcome(incident, escalation, created, evaluation, check)


def acknowledge_escalation(
    *, user: User | None, escalation_id: int, now: datetime, channel: str = Channel.WEB,
    on_behalf_of: str = "",
) -> tuple[Escalation, bool]:
    """Staff takes the escalation into account; stops reminders. Returns (escalation, changed).

    `user` None means the system, acting for `on_behalf_of` (the recipient of a signed one-click
    email link, whose signature is the authority).
    """
    if user is not None and not user.is_internal:
        get_visible_escalation(user, escalation_id)  # out of scope: 404 before anything else
        check_may_acknowledge(user)
    with transaction.atomic():
        escalation = (
            Escalation.objects.select_for_update().select_related("incident").filter(pk=escalation_id).first()
        )
        if escalation is None:
            raise NotFound("escalation_not_found", _("Aucune escalade n'a l'identifiant {id}.").format(id=escalation_id))
        if escalation.acknowledged_at is not None:
            return escalation, False
        # The system acting on a signed link records the link's recipient, not itself, as who did it.
        label = (on_behalf_of if user is None and on_behalf_of
                 else actor_label(user) + (f" pour {on_behalf_of}" if on_behalf_of else ""))[:200]  # column size
        escalation.acknowledged_at = now
        escalation.acknowledged_by = user
        # The person who acted: the account, or the link's recipient when the system acts for them.
        escalation.acknowledged_label = (on_behalf_of if user is None and on_behalf_of else actor_label(user))[:200]
        escalation.next_reminder_at = None
        escalation.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledged_label",
                                       "next_reminder_at"])
        incident = escalation.incident
        incident.awaiting_ack = incident.escalations.filter(acknowledged_at__isnull=True).exists()
        set_triage(incident)
        incident.save(update_fields=["awaiting_ack", "triage", "updated_at"])
        record(escalation.incident, EventKind.ESCALATION_ACKNOWLEDGED, now, user=user, channel=channel,
               label=label, level=escalation.level, escalation=escalation.pk)
    return escalation, True
