"""SLA clocks: from an incident's facts and an instant to the state of each commitment (SPEC §1.2–1.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from escalade.core.calendar import Clock
from escalade.core.policy import CommitmentRule, Policy, PriorityRule


class CommitmentKind(StrEnum):
    TAKE_CHARGE = "take_charge"
    RESOLUTION = "resolution"


class State(StrEnum):
    RUNNING = "running"
    MET = "met"
    BREACHED = "breached"
    MISSED = "missed"
    PAUSED = "paused"


@dataclass(frozen=True)
class Pause:
    """Status "en attente client": time inside does not count on the resolution clock."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class IncidentFacts:
    """What is known of an incident; every instant is timezone-aware (checked where facts enter)."""

    request_number: str
    priority: str
    opened_at: datetime
    gtr: bool = False
    track: str = "support"
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()

    def as_known_at(self, at: datetime) -> IncidentFacts:
        """Facts later than `at` are ignored: a later stop is no stop, a pause ending later is open."""

        # Everything in UTC from here on: aware datetimes sharing a ZoneInfo compare by wall clock.
        at = at.astimezone(UTC)

        def seen(instant: datetime | None) -> datetime | None:
            if instant is None:
                return None
            instant = instant.astimezone(UTC)
            return instant if instant <= at else None

        pauses = tuple(
            Pause(p.start.astimezone(UTC), seen(p.end)) for p in self.pauses if p.start <= at
        )
        return IncidentFacts(
            request_number=self.request_number,
            priority=self.priority,
            opened_at=self.opened_at.astimezone(UTC),
            gtr=self.gtr,
            track=self.track,
            acknowledged_at=seen(self.acknowledged_at),
            resolved_at=seen(self.resolved_at),
            pauses=pauses,
        )

    @property
    def taken_in_charge_at(self) -> datetime | None:
        # A resolved incident with no acknowledgement counts as taken in charge when resolved.
        return self.acknowledged_at if self.acknowledged_at is not None else self.resolved_at


@dataclass(frozen=True)
class CommitmentStatus:
    kind: CommitmentKind
    target: timedelta
    clock: str
    due_at: datetime | None
    stopped_at: datetime | None
    state: State
    overdue: timedelta

    @property
    def exceeded(self) -> bool:
        return self.state in (State.BREACHED, State.MISSED)

    @property
    def counting(self) -> bool:
        """Its overdue can still grow: the ones that set `eligible_at` and `next_level_at`."""
        return self.state in (State.RUNNING, State.BREACHED)


def due_at(
    clock: Clock, start: datetime, target: timedelta, pauses: tuple[Pause, ...] = ()
) -> datetime | None:
    """First instant at which counted time, pauses excluded, reaches the target; None while an open
    pause holds it back. A pause that starts at or after that instant changes nothing."""
    if not pauses:
        return clock.add(start, target)
    cursor, remaining = start, target
    for pause in sorted(pauses, key=lambda p: p.start):
        if pause.end is not None and pause.end <= cursor:
            continue
        pause_start = max(pause.start, cursor)
        candidate = clock.add(cursor, remaining)
        if candidate <= pause_start:
            return candidate
        remaining -= clock.elapsed(cursor, pause_start)
        if pause.end is None:
            return None
        cursor = pause.end
    return clock.add(cursor, remaining)


def commitment_status(
    kind: CommitmentKind,
    rule: CommitmentRule,
    clock: Clock,
    opened_at: datetime,
    stopped_at: datetime | None,
    at: datetime,
    pauses: tuple[Pause, ...] = (),
) -> CommitmentStatus:
    """State of one commitment at `at`, from facts already limited to what was known at `at`."""
    if stopped_at is not None:
        # Resolving during a pause ends the pause: nothing after the stop counts.
        pauses = tuple(
            Pause(p.start, stopped_at if p.end is None or p.end > stopped_at else p.end)
            for p in pauses
            if p.start < stopped_at
        )
    due = due_at(clock, opened_at, rule.target, pauses)
    if due is None:
        return CommitmentStatus(kind, rule.target, clock.name, None, None, State.PAUSED, timedelta(0))
    end = stopped_at if stopped_at is not None else at
    overdue = max(end.astimezone(UTC) - due.astimezone(UTC), timedelta(0))
    if stopped_at is not None:
        state = State.MET if stopped_at <= due else State.MISSED
    else:
        state = State.BREACHED if at >= due else State.RUNNING
    return CommitmentStatus(kind, rule.target, clock.name, due, stopped_at, state, overdue)


@dataclass(frozen=True)
class Commitments:
    take_charge: CommitmentStatus
    resolution: CommitmentStatus | None

    def all(self) -> tuple[CommitmentStatus, ...]:
        return (self.take_charge,) if self.resolution is None else (self.take_charge, self.resolution)


def resolution_rule(priority: PriorityRule, gtr: bool) -> CommitmentRule | None:
    rule = priority.resolution
    if rule is None or (rule.requires_gtr and not gtr):
        return None  # e.g. high priority without GTR: no resolution commitment at all
    return rule


def commitments(policy: Policy, facts: IncidentFacts, at: datetime) -> Commitments:
    """Both clocks of an incident at `at`. `facts` must already be `as_known_at(at)`."""
    priority = policy.priorities[facts.priority]
    take_charge = commitment_status(
        CommitmentKind.TAKE_CHARGE,
        priority.take_charge,
        policy.clock(priority.take_charge.clock),
        facts.opened_at,
        facts.taken_in_charge_at,
        at,
    )  # pauses never affect take-charge
    rule = resolution_rule(priority, facts.gtr)
    resolution = None
    if rule is not None:
        resolution = commitment_status(
            CommitmentKind.RESOLUTION,
            rule,
            policy.clock(rule.clock),
            facts.opened_at,
            facts.resolved_at,
            at,
            facts.pauses,
        )
    return Commitments(take_charge, resolution)
