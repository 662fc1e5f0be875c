"""The escalation decision (SPEC §1.4): may this incident be escalated now, to which level, whom to call.

Also the crossings a watcher acts on: pre-breach warnings, breaches and escalation levels opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from escalade.core import messages, words
from escalade.core.policy import Contact, Policy, PriorityRule
from escalade.core.sla import (
    CommitmentKind,
    Commitments,
    CommitmentStatus,
    IncidentFacts,
    State,
    commitments,
)


class Reason(StrEnum):
    ELIGIBLE = "eligible"
    PRIORITY_NOT_ESCALABLE = "priority_not_escalable"
    INCIDENT_RESOLVED = "incident_resolved"
    NO_COMMITMENT_EXCEEDED = "no_commitment_exceeded"
    THRESHOLD_NOT_REACHED = "threshold_not_reached"


class EscalationDecision(NamedTuple):
    allowed: bool
    level: int
    reason: Reason
    message: str
    eligible_at: datetime | None
    next_level_at: datetime | None
    contacts: tuple[Contact, ...]


class Evaluation(NamedTuple):
    """Everything SPEC §2 answers for one incident at one instant."""

    facts: IncidentFacts  # as known at `evaluated_at`
    evaluated_at: datetime
    commitments: Commitments
    escalation: EscalationDecision


def evaluate(policy: Policy, facts: IncidentFacts, at: datetime) -> Evaluation:
    """Pure: the same policy, facts and instant always give the same answer."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    known = facts.as_known_at(at)
    clocks = commitments(policy, known, at)
    return Evaluation(known, at, clocks, decide(policy, known, clocks))


def reached_level(thresholds: tuple[timedelta, ...], overdue: timedelta) -> int:
    """Highest level whose threshold the overdue reaches; thresholds are inclusive ("au moins")."""
    return sum(1 for threshold in thresholds if overdue >= threshold)


_COUNTING = (State.RUNNING, State.BREACHED)  # CommitmentStatus.counting
_EXCEEDED = (State.BREACHED, State.MISSED)  # CommitmentStatus.exceeded


def _earliest(
    statuses: tuple[CommitmentStatus, ...], offset: timedelta
) -> datetime | None:
    instants = [
        s.due_at + offset if not s.excluded else s.reaches(offset)  # no resolved interval: the usual case
        for s in statuses if s.state in _COUNTING and s.due_at is not None
    ]
    return min((i for i in instants if i is not None), default=None)


def decide(policy: Policy, facts: IncidentFacts, clocks: Commitments) -> EscalationDecision:
    priority = policy.priorities[facts.priority]
    if not priority.escalable or facts.resolved_at is not None:
        # The same answer for every incident of the priority: built once per policy and priority.
        reason = Reason.PRIORITY_NOT_ESCALABLE if not priority.escalable else Reason.INCIDENT_RESOLVED
        return _constant_refusal(policy, priority, reason)
    statuses = clocks.all()
    tz = policy.timezone

    def refuse(reason: Reason, eligible_at: datetime | None = None) -> EscalationDecision:
        message = messages.refusal(
            reason.value, priority, eligible_at, statuses, tz, policy.escalable_labels
        )
        return EscalationDecision(False, 0, reason, message, eligible_at, None, ())

    eligible_at = _earliest(statuses, priority.thresholds[0])
    exceeded = [s for s in statuses if s.state in _EXCEEDED]
    if not exceeded:
        return refuse(Reason.NO_COMMITMENT_EXCEEDED, eligible_at)
    worst = exceeded[0] if len(exceeded) == 1 else max(exceeded, key=_overdue)
    level = reached_level(priority.thresholds, worst.overdue)
    if level == 0:
        return refuse(Reason.THRESHOLD_NOT_REACHED, eligible_at)
    next_level_at = None
    if level < len(priority.thresholds):
        next_level_at = _earliest(statuses, priority.threshold(level + 1))
    contacts = policy.contacts_for(level, facts.track)
    message = messages.eligible(level, worst, next_level_at, tz)
    return EscalationDecision(True, level, Reason.ELIGIBLE, message, None, next_level_at, contacts)


def _overdue(status: CommitmentStatus) -> timedelta:
    return status.overdue


# (policy, priority, reason, language) → the refusal, for the reasons that depend on nothing else
# (low priority, resolved): worded once per reader's language, not per incident. Keyed by identity (a policy's mappings make it
# unhashable, and hashing a priority rule costs more than the wording); each entry keeps its policy
# alive, so an id is never reused while its entry is here.
_CONSTANT_REFUSALS: dict[tuple[int, str, Reason, str | None], tuple[Policy, PriorityRule, EscalationDecision]] = {}


def _constant_refusal(policy: Policy, priority: PriorityRule, reason: Reason) -> EscalationDecision:
    key = (id(policy), priority.key, reason, words.language())
    entry = _CONSTANT_REFUSALS.get(key)
    if entry is not None and entry[0] is policy and entry[1] is priority:
        return entry[2]
    message = messages.refusal(reason.value, priority, None, (), policy.timezone, policy.escalable_labels)
    decision = EscalationDecision(False, 0, reason, message, None, None, ())
    if len(_CONSTANT_REFUSALS) >= 256:
        _CONSTANT_REFUSALS.clear()
    _CONSTANT_REFUSALS[key] = (policy, priority, decision)
    return decision


@dataclass(frozen=True)
class LevelCheck:
    """A requester's ask for a level, against what the decision allows."""

    granted_level: int  # 0 when refused
    code: str  # "eligible", a Reason, "invalid_level" or "level_above_allowed"
    message: str


def check_requested_level(
    decision: EscalationDecision, requested: int | None, levels: tuple[int, ...]
) -> LevelCheck:
    """A requester may ask for a lower level than allowed, never a higher one. When escalation is
    possible, a level that is not one of the policy's `levels` is `invalid_level`."""
    if not decision.allowed:
        return LevelCheck(0, decision.reason.value, decision.message)
    if requested is not None and requested not in levels:
        return LevelCheck(0, "invalid_level", messages.invalid_level(requested, levels))
    if requested is None:
        return LevelCheck(decision.level, Reason.ELIGIBLE.value, decision.message)
    if requested > decision.level:
        return LevelCheck(0, "level_above_allowed", messages.level_above_allowed(requested, decision.level))
    return LevelCheck(requested, Reason.ELIGIBLE.value, decision.message)


class CrossingKind(StrEnum):
    WARNING = "warning"  # a deadline is near
    BREACH = "breach"  # a deadline has passed
    LEVEL = "level"  # an escalation level becomes available


@dataclass(frozen=True)
class Crossing:
    kind: CrossingKind
    commitment: CommitmentKind
    level: int  # for LEVEL crossings, else 0
    at: datetime

    @property
    def key(self) -> str:
        """Stable identity: a crossing is acted on once per incident whatever the worker count."""
        if self.kind is CrossingKind.LEVEL:
            return f"level:{self.level}"
        return f"{self.kind.value}:{self.commitment.value}"


def crossings(policy: Policy, evaluation: Evaluation) -> tuple[Crossing, ...]:
    """Every crossing implied by the facts known at the evaluation instant, past or future, sorted.

    Warnings and breaches come from commitments still counting; a level opens at the first instant
    any commitment's overdue reaches its threshold (a stopped one only if it got there in time).
    """
    if evaluation.facts.resolved_at is not None:
        return ()
    priority = policy.priorities[evaluation.facts.priority]
    rules = policy.notifications
    found: list[Crossing] = []
    for status in evaluation.commitments.all():
        if not status.counting or status.due_at is None:
            continue
        clock = policy.clock(status.clock)
        lead = rules.warning_lead_business if clock.is_business else rules.warning_lead_24_7
        if lead > timedelta(0):
            warn_at = clock.subtract(status.due_at, lead)
            found.append(Crossing(CrossingKind.WARNING, status.kind, 0, warn_at))
        found.append(Crossing(CrossingKind.BREACH, status.kind, 0, status.due_at))
    if priority.escalable:
        for level, threshold in enumerate(priority.thresholds, start=1):
            candidates = [
                (reached, s.kind)
                for s in evaluation.commitments.all()
                if (reached := s.reaches(threshold)) is not None
                and (s.counting or (s.stopped_at is not None and s.overdue >= threshold))
            ]
            if candidates:
                at, kind = min(candidates)
                found.append(Crossing(CrossingKind.LEVEL, kind, level, at))
    return tuple(sorted(found, key=lambda c: (c.at, c.kind.value, c.level)))


def next_change_at(
    policy: Policy, evaluation: Evaluation, implied: tuple[Crossing, ...] | None = None
) -> datetime | None:
    """The next instant after the evaluation at which something the watcher acts on happens.
    `implied` is `crossings(policy, evaluation)` when the caller has it already."""
    if implied is None:
        implied = crossings(policy, evaluation)
    return min((c.at for c in implied if c.at > evaluation.evaluated_at), default=None)

