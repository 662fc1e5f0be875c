"""Properties: the clocks and the whole evaluation against slow, obvious reference implementations.

The references never look at the production tables: a minute-by-minute walk over local wall-clock time
(is this minute open, from the weekly hours and `holidays.country_holidays("FR")`?) for short
durations, and a day-by-day walk over each day's opening for long ones and for whole evaluations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalade.core.calendar import BusinessCalendar, OpeningRange, from_us, to_us
from escalade.core.escalation import evaluate
from escalade.core.policy import Policy
from escalade.core.sla import IncidentFacts, Pause
from escalade.policies import load_policy

PARIS = ZoneInfo("Europe/Paris")
FR = holidays.country_holidays("FR", years=range(2023, 2033))
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
FAR = datetime(2100, 1, 1, tzinfo=UTC)

POLICY = load_policy()
HIPCOM = POLICY.calendars["heures-ouvrees"]
# Weekly hours as plain data, written here again (not read from the policy): Mon–Fri 09:00–18:00.
HIPCOM_HOURS: Mapping[int, Sequence[tuple[time, time]]] = {d: [(time(9), time(18))] for d in range(5)}

START = datetime(2024, 1, 1, tzinfo=UTC)
MINUTES_TO_2030 = int((datetime(2030, 12, 1, tzinfo=UTC) - START) / MIN)

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


# -- reference 1: minute by minute over local wall-clock time -------------------------------------------


def open_minute(instant: datetime, hours: Mapping[int, Sequence[tuple[time, time]]]) -> bool:
    """Is the minute starting at `instant` (UTC) open? Read the wall clock in Paris and look."""
    wall = instant.astimezone(PARIS)
    if wall.date() in FR:
        return False
    clock = wall.time().replace(tzinfo=None)
    return any(a <= clock < b for a, b in hours.get(wall.weekday(), ()))


def minute_add(start: datetime, minutes: int, hours: Mapping[int, Sequence[tuple[time, time]]]) -> datetime:
    t, counted = start, 0
    while counted < minutes:
        if open_minute(t, hours):
            counted += 1
        t += MIN
    return t if minutes else start


def minute_elapsed(start: datetime, end: datetime, hours: Mapping[int, Sequence[tuple[time, time]]]) -> timedelta:
    t, counted = start, 0
    while t < end:
        counted += open_minute(t, hours)
        t += MIN
    return counted * MIN


# -- reference 2: day by day over each day's opening (HIPCOM's hours) --------------------------------------


@cache
def opening(day: date) -> tuple[datetime, datetime] | None:
    """The day's opening in UTC: 09:00 to 18:00 Paris time on a working day that is not a holiday."""
    if day.weekday() >= 5 or day in FR:
        return None
    return (
        datetime.combine(day, time(9), tzinfo=PARIS).astimezone(UTC),
        datetime.combine(day, time(18), tzinfo=PARIS).astimezone(UTC),
    )


def openings_from(start: datetime) -> Iterator[tuple[datetime, datetime]]:
    day = start.astimezone(PARIS).date()
    while True:
        span = opening(day)
        if span is not None and span[1] > start:
            yield max(span[0], start), span[1]
        day += timedelta(days=1)


def day_add(start: datetime, duration: timedelta) -> datetime:
    if duration <= timedelta(0):
        return start
    remaining = duration
    for a, b in openings_from(start):
        if remaining <= b - a:
            return a + remaining
        remaining -= b - a
    raise AssertionError("unreachable")


def day_elapsed(start: datetime, end: datetime) -> timedelta:
    total = timedelta(0)
    for a, b in openings_from(start):
        if a >= end:
            return total
        total += min(b, end) - a


def day_subtract(end: datetime, duration: timedelta) -> datetime:
    if duration <= timedelta(0):
        return end
    remaining = duration
    day = end.astimezone(PARIS).date()
    while True:
        span = opening(day)
        if span is not None and span[0] < end:
            a, b = span[0], min(span[1], end)
            if remaining <= b - a:
                return b - remaining
            remaining -= b - a
        day -= timedelta(days=1)


# -- reference 3: the whole evaluation, from SPEC §1.2–1.4 read literally ----------------------------------


def counting_spans(business: bool, opened: datetime) -> Iterator[tuple[datetime, datetime]]:
    if business:
        yield from openings_from(opened)
    else:
        yield opened, FAR


def reference_due(business: bool, opened: datetime, target: timedelta, pauses: list[tuple[datetime, datetime | None]]) -> datetime | None:
    """First instant at which the counted time, pauses excluded, reaches the target (None: an open pause)."""
    counted = timedelta(0)
    for a, b in counting_spans(business, opened):
        pieces = [(a, b)]
        for p_start, p_end in pauses:
            end = FAR if p_end is None else p_end
            pieces = [
                piece
                for x, y in pieces
                for piece in ((x, min(y, p_start)), (max(x, end), y))
                if piece[0] < piece[1]
            ]
        for x, y in pieces:
            if counted + (y - x) >= target:
                return x + (target - counted)
            counted += y - x
        if any(p_end is None and p_start <= b for p_start, p_end in pauses):
            return None  # an open pause started: nothing counts any more
    raise AssertionError("unreachable")


@dataclass
class RefCommitment:
    due: datetime | None
    stopped: datetime | None
    state: str
    overdue: timedelta


def reference_commitment(
    business: bool,
    target: timedelta,
    opened: datetime,
    stop: datetime | None,
    at: datetime,
    pauses: list[tuple[datetime, datetime | None]],
) -> RefCommitment:
    if stop is not None:  # after the stop nothing is "en attente client"
        pauses = [(s, stop if e is None or e > stop else e) for s, e in pauses if s < stop]
    due = reference_due(business, opened, target, pauses)
    if due is None:
        return RefCommitment(None, None, "paused", timedelta(0))
    end = stop if stop is not None else at
    overdue = max(end - due, timedelta(0))
    if stop is not None:
        return RefCommitment(due, stop, "met" if stop <= due else "missed", overdue)
    return RefCommitment(due, None, "breached" if at >= due else "running", overdue)


TARGETS = {  # the seed procedure's first table: (take charge, resolution, business clock?)
    "low": (timedelta(hours=4), timedelta(hours=96), True),
    "medium": (timedelta(hours=2), timedelta(hours=48), False),
    "high": (timedelta(minutes=30), timedelta(hours=4), False),
}
THRESHOLDS = {  # the seed procedure's second table
    "medium": (timedelta(hours=1), timedelta(hours=12), timedelta(hours=24)),
    "high": (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)),
}


@dataclass
class RefEvaluation:
    take_charge: RefCommitment
    resolution: RefCommitment | None
    allowed: bool
    level: int
    reason: str
    eligible_at: datetime | None
    next_level_at: datetime | None


def reference_evaluation(facts: IncidentFacts, at: datetime) -> RefEvaluation:
    # What was known at `at`.
    ack = facts.acknowledged_at if facts.acknowledged_at is not None and facts.acknowledged_at <= at else None
    resolved = facts.resolved_at if facts.resolved_at is not None and facts.resolved_at <= at else None
    pauses = [(p.start, p.end if p.end is not None and p.end <= at else None) for p in facts.pauses if p.start <= at]
    tto, ttr, business = TARGETS[facts.priority]
    take_charge = reference_commitment(business, tto, facts.opened_at, ack or resolved, at, [])
    resolution = None
    if facts.priority != "high" or facts.gtr:
        resolution = reference_commitment(business, ttr, facts.opened_at, resolved, at, pauses)
    statuses = [s for s in (take_charge, resolution) if s is not None]

    def result(allowed: bool, level: int, reason: str, eligible: datetime | None = None, nxt: datetime | None = None) -> RefEvaluation:
        return RefEvaluation(take_charge, resolution, allowed, level, reason, eligible, nxt)

    if facts.priority not in THRESHOLDS:
        return result(False, 0, "priority_not_escalable")
    if resolved is not None:
        return result(False, 0, "incident_resolved")
    thresholds = THRESHOLDS[facts.priority]
    counting = [s.due for s in statuses if s.state in ("running", "breached") and s.due is not None]
    eligible_at = min((due + thresholds[0] for due in counting), default=None)
    exceeded = [s for s in statuses if s.state in ("breached", "missed")]
    if not exceeded:
        return result(False, 0, "no_commitment_exceeded", eligible_at)
    overdue = max(s.overdue for s in exceeded)
    level = 0
    for n, threshold in enumerate(thresholds, start=1):
        if overdue >= threshold:
            level = n
    if level == 0:
        return result(False, 0, "threshold_not_reached", eligible_at)
    next_level_at = None
    if level < 3:
        next_level_at = min((due + thresholds[level] for due in counting), default=None)
    return result(True, level, "eligible", None, next_level_at)


# -- strategies -----------------------------------------------------------------------------------------

minute_instants = st.integers(0, MINUTES_TO_2030).map(lambda m: START + m * MIN)
micro_instants = st.integers(0, MINUTES_TO_2030 * 60_000_000).map(lambda u: START + u * US)
business_durations = st.integers(0, 9 * 60 * 20).map(lambda m: m * MIN)  # up to 20 business days
odd_durations = st.integers(0, 200 * 3_600_000_000).map(lambda u: u * US)


@st.composite
def incidents(draw: st.DrawFn) -> tuple[IncidentFacts, datetime]:
    opened = draw(st.one_of(minute_instants, micro_instants))
    minutes = st.integers(0, 60 * 24 * 6).map(lambda m: m * MIN)
    ack = draw(st.none() | minutes.map(lambda d: opened + d))
    resolved = draw(st.none() | st.integers(0, 60 * 24 * 20).map(lambda m: opened + m * MIN))
    pauses: list[Pause] = []
    cursor = opened
    for _ in range(draw(st.integers(0, 3))):
        start = cursor + draw(st.integers(0, 60 * 24 * 3)) * MIN
        length = draw(st.none() | st.integers(1, 60 * 24 * 3))
        if length is None:
            pauses.append(Pause(start))
            break
        pauses.append(Pause(start, start + length * MIN))
        cursor = start + length * MIN
    at = opened + draw(st.integers(0, 60 * 24 * 25).map(lambda m: m * MIN) | st.integers(0, 10**12).map(lambda u: u * US))
    facts = IncidentFacts(
        request_number="REQ-1",
        priority=draw(st.sampled_from(["low", "medium", "high"])),
        opened_at=opened,
        gtr=draw(st.booleans()),
        track=draw(st.sampled_from(["support", "production"])),
        acknowledged_at=ack,
        resolved_at=resolved,
        pauses=tuple(pauses),
    )
    return facts, at


# -- the business calendar ---------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=250)
@given(start=minute_instants, minutes=st.integers(0, 9 * 60 * 2))
def test_add_matches_minute_by_minute_walk(start: datetime, minutes: int) -> None:
    assert HIPCOM.add(start, minutes * MIN) == minute_add(start, minutes, HIPCOM_HOURS)


@settings(PROPERTY, max_examples=150)
@given(start=minute_instants, span=st.integers(0, 60 * 24 * 6))
def test_elapsed_matches_minute_by_minute_walk(start: datetime, span: int) -> None:
    end = start + span * MIN
    assert HIPCOM.elapsed(start, end) == minute_elapsed(start, end, HIPCOM_HOURS)


@settings(PROPERTY, max_examples=2000)
@given(start=st.one_of(minute_instants, micro_instants), duration=business_durations)
def test_add_matches_day_by_day_walk(start: datetime, duration: timedelta) -> None:
    due = HIPCOM.add(start, duration)
    assert due == day_add(start, duration)
    if duration > timedelta(0):
        assert HIPCOM.elapsed(start, due) == duration


@settings(PROPERTY, max_examples=1500)
@given(start=st.one_of(minute_instants, micro_instants), span=st.integers(0, 10**12 * 3).map(lambda u: u * US))
def test_elapsed_matches_day_by_day_walk(start: datetime, span: timedelta) -> None:
    assert HIPCOM.elapsed(start, start + span) == day_elapsed(start, start + span)
    assert HIPCOM.elapsed(start + span, start) == timedelta(0)


@settings(PROPERTY, max_examples=1500)
@given(end=st.one_of(minute_instants, micro_instants), duration=business_durations)
def test_subtract_matches_day_by_day_walk(end: datetime, duration: timedelta) -> None:
    start = HIPCOM.subtract(end, duration)
    assert start == day_subtract(end, duration)
    assert HIPCOM.elapsed(start, end) == (duration if start < end else timedelta(0))


@settings(PROPERTY, max_examples=150)
@given(
    starts=st.lists(st.one_of(minute_instants, micro_instants), min_size=1, max_size=60),
    duration=st.one_of(business_durations, st.sampled_from([timedelta(hours=4), timedelta(hours=96)])),
)
def test_add_many_matches_add(starts: list[datetime], duration: timedelta) -> None:
    array = np.array([to_us(s) for s in starts], dtype=np.int64)
    got = HIPCOM.add_many(array, duration)
    assert got.dtype == np.int64
    assert [from_us(int(us)) for us in got] == [HIPCOM.add(s, duration) for s in starts]


# A calendar with ranges inside the spring DST gap (02:00–03:00 does not exist on those Sundays), checked
# minute by minute on the weeks around the spring changes, where every wall-clock reading happens at
# most once and "open" is plain.
ODD_HOURS: Mapping[int, Sequence[tuple[time, time]]] = {
    0: [(time(0), time(1, 30)), (time(22), time(23, 59))],
    2: [(time(12), time(12, 1))],
    5: [(time(10), time(12))],
    6: [(time(0), time(2, 30)), (time(2, 45), time(4)), (time(20), time(21))],
}
ODD = BusinessCalendar(
    "odd",
    PARIS,
    {d: tuple(OpeningRange(a, b) for a, b in ranges) for d, ranges in ODD_HOURS.items()},
    country="FR",
)
SPRING_WEEKS = [datetime(y, 3, 26, tzinfo=UTC) for y in range(2024, 2031)]


@settings(PROPERTY, max_examples=120)
@given(
    week=st.sampled_from(SPRING_WEEKS),
    offset=st.integers(0, 60 * 24 * 5),
    minutes=st.integers(0, 60 * 6),
)
def test_odd_calendar_across_spring_dst_matches_minute_by_minute_walk(
    week: datetime, offset: int, minutes: int
) -> None:
    start = week + offset * MIN
    due = ODD.add(start, minutes * MIN)
    assert due == minute_add(start, minutes, ODD_HOURS)
    assert ODD.elapsed(start, start + minutes * 4 * MIN) == minute_elapsed(start, start + minutes * 4 * MIN, ODD_HOURS)


# -- the whole evaluation ---------------------------------------------------------------------------------


def check_commitment(got: object, ref: RefCommitment | None) -> None:
    if ref is None:
        assert got is None
        return
    assert got is not None
    assert (got.due_at, got.stopped_at, got.state.value, got.overdue) == (  # type: ignore[attr-defined]
        ref.due,
        ref.stopped,
        ref.state,
        ref.overdue,
    )


@settings(PROPERTY, max_examples=1500)
@given(case=incidents())
def test_evaluation_matches_the_reference(case: tuple[IncidentFacts, datetime]) -> None:
    facts, at = case
    evaluation = evaluate(POLICY, facts, at)
    ref = reference_evaluation(facts, at)
    check_commitment(evaluation.commitments.take_charge, ref.take_charge)
    check_commitment(evaluation.commitments.resolution, ref.resolution)
    decision = evaluation.escalation
    assert (decision.allowed, decision.level, decision.reason.value) == (ref.allowed, ref.level, ref.reason)
    assert (decision.eligible_at, decision.next_level_at) == (ref.eligible_at, ref.next_level_at)
    assert [c.level for c in decision.contacts] == ([ref.level] if ref.allowed else [])
    assert all(c.track in ("all", facts.track) for c in decision.contacts)


@settings(PROPERTY, max_examples=300)
@given(case=incidents(), later=st.integers(1, 60 * 24 * 10))
def test_facts_after_the_instant_change_nothing(case: tuple[IncidentFacts, datetime], later: int) -> None:
    """Adding facts later than `at` (an acknowledgement, a resolution, a pause) never changes the answer."""
    facts, at = case
    after = at + later * MIN
    extra = IncidentFacts(
        request_number=facts.request_number,
        priority=facts.priority,
        opened_at=facts.opened_at,
        gtr=facts.gtr,
        track=facts.track,
        acknowledged_at=facts.acknowledged_at if facts.acknowledged_at and facts.acknowledged_at <= at else after,
        resolved_at=facts.resolved_at if facts.resolved_at and facts.resolved_at <= at else after,
        pauses=facts.pauses if facts.pauses and facts.pauses[-1].end is None else (*facts.pauses, Pause(max([after, *(p.end or after for p in facts.pauses)]))),
    )
    known = IncidentFacts(
        request_number=facts.request_number,
        priority=facts.priority,
        opened_at=facts.opened_at,
        gtr=facts.gtr,
        track=facts.track,
        acknowledged_at=extra.acknowledged_at if extra.acknowledged_at and extra.acknowledged_at <= at else None,
        resolved_at=extra.resolved_at if extra.resolved_at and extra.resolved_at <= at else None,
        pauses=tuple(
            Pause(p.start, p.end if p.end is not None and p.end <= at else None) for p in extra.pauses if p.start <= at
        ),
    )
    a, b = evaluate(POLICY, extra, at), evaluate(POLICY, known, at)
    assert (a.commitments, a.escalation) == (b.commitments, b.escalation)


def _policy_is_hipcom(policy: Policy) -> None:
    assert policy.priorities["low"].take_charge.clock == HIPCOM.name


_policy_is_hipcom(POLICY)
