"""The core's evaluation of a stored incident, and its cache in the incident's columns.

The stored deadlines, states, allowed level and `next_change_at` are a cache written only here;
they exist for the worker's index, the dashboard's order and the SQL reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet

from escalade import bulk, compiled
from escalade.core.escalation import Crossing, Evaluation, crossings, next_change_at
from escalade.incidents.models import Incident, Status, TimelineEvent, pending_deadline, triage_key

_UPDATED_AT = Incident._meta.get_field("updated_at")
CACHE_FIELDS = [
    "take_charge_due_at",
    "take_charge_state",
    "resolution_due_at",
    "resolution_state",
    "allowed_level",
    "evaluated_at",
    "next_change_at",
    "next_due_at",
    "triage",
    "status",
]


def evaluation_now(incident: Incident, now: datetime) -> Evaluation:
    """`Incident.evaluate` with the incident's own policy (its pinned version's commitments)."""
    return incident.evaluate(incident.policy, now)


def derive_status(incident: Incident, paused: bool | None = None) -> str:
    if incident.resolved_at is not None:
        return Status.RESOLVED
    if paused is None:
        if incident.pk is None:
            paused = False
        elif "pauses" in getattr(incident, "_prefetched_objects_cache", {}):  # a batch read them already
            paused = any(pause.end is None for pause in incident.pauses.all())
        else:
            paused = incident.pauses.filter(end__isnull=True).exists()
    if paused:
        return Status.PAUSED
    if incident.acknowledged_at is not None:
        return Status.ACKNOWLEDGED
    return Status.OPEN


def cache_evaluation(
    incident: Incident,
    evaluation: Evaluation,
    now: datetime,
    paused: bool | None = None,
    implied: tuple[Crossing, ...] | None = None,
) -> None:
    """Copy the core's evaluation into the cached columns (not saved: callers save or bulk-update).
    `implied` is `crossings(policy, evaluation)` when the caller has it already."""
    if implied is None:
        implied = crossings(incident.policy, evaluation)
    tc, res = evaluation.commitments.take_charge, evaluation.commitments.resolution
    incident.take_charge_due_at = tc.due_at
    incident.take_charge_state = tc.state.value
    incident.resolution_due_at = res.due_at if res else None
    incident.resolution_state = res.state.value if res else ""
    incident.allowed_level = evaluation.escalation.level
    incident.next_due_at = pending_deadline(incident.take_charge_due_at, incident.acknowledged_at,
                                            incident.resolution_due_at)
    set_triage(incident)
    incident.evaluated_at = now
    # An archived incident is out of the watcher's sight.
    incident.next_change_at = None if incident.archived_at else next_change_at(incident.policy, evaluation, implied)
    incident.status = derive_status(incident, paused)


def refresh(incident: Incident, now: datetime, evaluation: Evaluation | None = None,
            also: Sequence[str] = ()) -> Evaluation:
    """Store the cache the worker and the reports read. `evaluation` is the incident's evaluation at
    `now` when the caller has just made it (an escalation changes no fact): it is not made twice.
    `also` names other fields the caller changed, saved with the cache in the same UPDATE."""
    if evaluation is None:
        evaluation = evaluation_now(incident, now)
    implied = crossings(incident.policy, evaluation)
    cache_evaluation(incident, evaluation, now, implied=implied)
    if incident.archived_at is None and _has_unrecorded_crossing(incident, evaluation, implied):
        # Facts entered late (or a priority change) imply a crossing already past: due at once,
        # so the worker alerts now rather than at the next future crossing.
        incident.next_change_at = now
    # One parameterised UPDATE (`bulk.update`): `save(update_fields=…)` wrote its SQL again at every
    # write, twice the time. `updated_at` is set as `save` sets it (auto_now).
    _UPDATED_AT.pre_save(incident, False)
    bulk.update(Incident, [incident], [*CACHE_FIELDS, *also, "updated_at"])
    return evaluation


def _has_unrecorded_crossing(incident: Incident, evaluation: Evaluation, implied: tuple[Crossing, ...]) -> bool:
    past = {c.key for c in implied if c.at <= evaluation.evaluated_at}
    if not past:
        return False
    read = getattr(incident, "recorded_crossings", False)  # read with the incident's lock (`with_chain`)
    if read is not False:
        return bool(past - set((read or "").split(",")))
    # One SQL per number of keys (escalade.compiled): an escalation request wrote it again each time.
    recorded = {key for (key,) in compiled.fetch(len(past), _recorded, incident.pk, *sorted(past))}
    return bool(past - recorded)


def _recorded(incident_id: int, *keys: str) -> QuerySet[TimelineEvent]:
    return TimelineEvent.objects.filter(incident_id=incident_id, crossing_key__in=keys).values_list("crossing_key")


def set_triage(incident: Incident) -> None:
    """The dashboard's order from what is stored: awaiting acknowledgement, priority, open level."""
    incident.triage = triage_key(incident.awaiting_ack, incident.policy.urgency_rank(incident.priority),
                                 incident.allowed_level, incident.next_due_at is not None)
