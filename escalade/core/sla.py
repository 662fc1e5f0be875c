"""SLA clocks: from an incident's facts and an instant to the state of each commitment (SPEC §1.2–1.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from escalade.core.calendar import Clock, TwentyFourSeven
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


class Pause(NamedTuple):
    """Status "en attente client": time inside does not count on the resolution clock."""

    start: datetime
    end: datetime | None = None


class Resolved(NamedTuple):
    """A resolution later reopened (interpretation, SPEC §1.2): the interval counts on no clock, like a
    pause of the resolution clock, and never as overdue, even after the deadline."""

    resolved_at: datetime
    reopened_at: datetime


class IncidentFacts(NamedTuple):
    """What is known of an incident; every instant is timezone-aware (checked where facts enter)."""

    request_number: str
    priority: str
    opened_at: datetime
    gtr: bool = False
    track: str = "support"
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    reopenings: tuple[Resolved, ...] = ()  # earlier resolutions, each ended by a reopening

    def as_known_at(self, at: datetime) -> IncidentFacts:
        """Facts later than `at` are ignored: a later stop is no stop, a pause ending later is open.

        Every instant of the answer is in UTC. Facts already in UTC and all known at `at` (what
        `escalade evaluate` parses, most of the time) are returned as they are, not copied.
        """

        # Everything in UTC from here on: aware datetimes sharing a ZoneInfo compare by wall clock.
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        if self._known_in_utc(at):
            return self

        def seen(instant: datetime | None) -> datetime | None:
            if instant is None:
                return None
            instant = instant.astimezone(UTC)
            return instant if instant <= at else None

        pauses = tuple(
            Pause(p.start.astimezone(UTC), seen(p.end)) for p in self.pauses if p.start <= at
        )
        resolved = seen(self.resolved_at)
        reopenings = []
        for r in self.reopenings:
            start, end = r.resolved_at.astimezone(UTC), r.reopened_at.astimezone(UTC)
            if end <= at:
                reopenings.append(Resolved(start, end))
            elif start <= at:
                resolved = start  # at `at` it was resolved, not yet reopened
        return IncidentFacts(
            self.request_number,
            self.priority,
            self.opened_at.astimezone(UTC),
            self.gtr,
            self.track,
            seen(self.acknowledged_at),
            resolved,
            pauses,
            tuple(reopenings),
        )

    def _known_in_utc(self, at: datetime) -> bool:
        """Is `as_known_at(at)` equal to these facts? (`at` in UTC.)"""
        if self.opened_at.tzinfo is not UTC or self.reopenings:
            return False
        for instant in (self.acknowledged_at, self.resolved_at):
            if instant is not None and (instant.tzinfo is not UTC or instant > at):
                return False
        for pause in self.pauses:
            if pause.start.tzinfo is not UTC or pause.start > at:
                return False
            end = pause.end
            if end is not None and (end.tzinfo is not UTC or end > at):
                return False
        return True

    @property
    def taken_in_charge_at(self) -> datetime | None:
        # A resolved incident with no acknowledgement counts as taken in charge when resolved, at its
        # first resolution: a reopening leaves take-charge as it was.
        if self.acknowledged_at is not None:
            return self.acknowledged_at
        if self.reopenings:
            return min(r.resolved_at for r in self.reopenings)
        return self.resolved_at


class CommitmentStatus(NamedTuple):
    kind: CommitmentKind
    target: timedelta
    clock: str
    due_at: datetime | None
    stopped_at: datetime | None
    state: State
    overdue: timedelta
    # Resolved intervals after the deadline: they do not count as overdue.
    excluded: tuple[Resolved, ...] = ()

    def reaches(self, overdue: timedelta) -> datetime | None:
        """The instant the overdue reaches `overdue` if it keeps counting (None while paused)."""
        if self.due_at is None:
            return None
        at, remaining = self.due_at, overdue
        for interval in self.excluded:
            if at + remaining <= interval.resolved_at:
                break
            remaining -= max(interval.resolved_at - at, _ZERO)
            at = max(at, interval.reopened_at)
        return at + remaining

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
    for pause in sorted(pauses, key=_pause_start) if len(pauses) > 1 else pauses:
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


def _pause_start(pause: Pause) -> datetime:
    return pause.start


_ZERO = timedelta(0)


def commitment_status(
    kind: CommitmentKind,
    rule: CommitmentRule,
    clock: Clock,
    opened_at: datetime,
    stopped_at: datetime | None,
    at: datetime,
    pauses: tuple[Pause, ...] = (),
    reopenings: tuple[Resolved, ...] = (),
) -> CommitmentStatus:
    """State of one commitment at `at`, from facts already limited to what was known at `at`."""
    target = rule.target
    if reopenings:
        # Before the deadline a resolved interval holds the clock like a pause; after it, it is
        # taken out of the overdue (below).
        pauses = tuple(sorted((*pauses, *(Pause(r.resolved_at, r.reopened_at) for r in reopenings)),
                              key=_pause_start))
    if pauses and stopped_at is not None:
        # Resolving during a pause ends the pause: nothing after the stop counts.
        pauses = tuple(
            p if p.end is not None and p.end <= stopped_at else Pause(p.start, stopped_at)
            for p in pauses
            if p.start < stopped_at
        )
    if not pauses and type(clock) is TwentyFourSeven and opened_at.tzinfo is UTC:
        due: datetime | None = opened_at + target  # what TwentyFourSeven.add answers
    else:
        due = due_at(clock, opened_at, target, pauses)
    if due is None:
        return CommitmentStatus(kind, target, clock.name, None, None, State.PAUSED, _ZERO)
    if stopped_at is not None:
        end = stopped_at
        state = State.MET if stopped_at <= due else State.MISSED
    else:
        end = at
        state = State.BREACHED if at >= due else State.RUNNING
    # Absolute time: two instants sharing a ZoneInfo would subtract by wall clock.
    if end.tzinfo is not UTC:
        end = end.astimezone(UTC)
    overdue = end - (due if due.tzinfo is UTC else due.astimezone(UTC))
    excluded: tuple[Resolved, ...] = ()
    if reopenings:
        excluded = tuple(r for r in sorted(reopenings) if r.reopened_at > due and r.resolved_at < end)
        overdue -= sum((min(r.reopened_at, end) - max(r.resolved_at, due) for r in excluded), _ZERO)
    return CommitmentStatus(kind, target, clock.name, due, stopped_at, state,
                            overdue if overdue > _ZERO else _ZERO, excluded)


class Commitments(NamedTuple):
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
    take_rule = priority.take_charge
    # Taken in charge at the acknowledgement, else the (first) resolution: `taken_in_charge_at`,
    # inlined for the usual incident, never reopened.
    taken = facts.acknowledged_at
    if taken is None:
        taken = facts.taken_in_charge_at if facts.reopenings else facts.resolved_at
    # Pauses never affect take-charge.
    take_charge = commitment_status(
        CommitmentKind.TAKE_CHARGE, take_rule, policy.clock(take_rule.clock), facts.opened_at, taken, at
    )
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
            facts.reopenings,
        )
    return Commitments(take_charge, resolution)

