"""SLA clocks (SPEC §1.2–1.3): due dates, states and overdue of take-charge and resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalade.core.escalation import Evaluation, evaluate
from escalade.core.policy import Policy
from escalade.core.sla import CommitmentStatus, IncidentFacts, Pause, State, due_at

PARIS = ZoneInfo("Europe/Paris")
MIN = timedelta(minutes=1)
H = timedelta(hours=1)


def paris(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS)


def local(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(PARIS).isoformat()


OPENED = paris(2026, 11, 27, 10)  # Friday


def run(
    policy: Policy,
    priority: str,
    at: datetime,
    opened: datetime = OPENED,
    **facts: object,
) -> Evaluation:
    return evaluate(policy, IncidentFacts("REQ-1042", priority, opened, **facts), at)  # type: ignore[arg-type]


def take_charge(evaluation: Evaluation) -> CommitmentStatus:
    return evaluation.commitments.take_charge


def resolution(evaluation: Evaluation) -> CommitmentStatus:
    assert evaluation.commitments.resolution is not None
    return evaluation.commitments.resolution


# -- targets and clocks ---------------------------------------------------------------------------------


def test_high_take_charge_is_due_30_minutes_after_opening_on_24_7(hipcom: Policy) -> None:
    status = take_charge(run(hipcom, "high", OPENED + 10 * MIN))
    assert (status.target, status.clock, local(status.due_at)) == (30 * MIN, "24/7", "2026-11-27T10:30:00+01:00")
    assert (status.state, status.overdue, status.stopped_at) == (State.RUNNING, timedelta(0), None)


def test_high_with_gtr_has_a_4_hour_resolution_commitment(hipcom: Policy) -> None:
    status = resolution(run(hipcom, "high", OPENED + 10 * MIN, gtr=True))
    assert (status.target, status.clock, local(status.due_at)) == (4 * H, "24/7", "2026-11-27T14:00:00+01:00")


def test_high_without_gtr_has_no_resolution_commitment(hipcom: Policy) -> None:
    evaluation = run(hipcom, "high", OPENED + 10 * MIN, gtr=False)
    assert evaluation.commitments.resolution is None
    assert evaluation.commitments.all() == (evaluation.commitments.take_charge,)


def test_medium_commitments_are_2_and_48_hours_on_24_7(hipcom: Policy) -> None:
    evaluation = run(hipcom, "medium", OPENED + 10 * MIN)
    assert local(take_charge(evaluation).due_at) == "2026-11-27T12:00:00+01:00"
    assert local(resolution(evaluation).due_at) == "2026-11-29T10:00:00+01:00"
    assert take_charge(evaluation).clock == resolution(evaluation).clock == "24/7"


@pytest.mark.parametrize("gtr", [False, True])
def test_medium_resolution_does_not_depend_on_gtr(hipcom: Policy, gtr: bool) -> None:
    assert resolution(run(hipcom, "medium", OPENED, gtr=gtr)).target == 48 * H


def test_low_commitments_are_4_and_96_business_hours(hipcom: Policy) -> None:
    # Friday 2026-11-27 10:00: 4 business hours → 14:00; 96 business hours = 10 days of 9 h + 6 h.
    evaluation = run(hipcom, "low", OPENED + 10 * MIN)
    assert take_charge(evaluation).clock == resolution(evaluation).clock == "heures-ouvrees"
    assert local(take_charge(evaluation).due_at) == "2026-11-27T14:00:00+01:00"
    # 8 h on Friday; Mon 30/11–Fri 04/12 and Mon 07/12–Thu 10/12 are 81 h (89 h); 7 h on Friday 11/12.
    assert local(resolution(evaluation).due_at) == "2026-12-11T16:00:00+01:00"


def test_low_opened_on_saturday_night_counts_from_monday_nine(hipcom: Policy) -> None:
    evaluation = run(hipcom, "low", paris(2026, 11, 30, 8), opened=paris(2026, 11, 28, 23))
    assert local(take_charge(evaluation).due_at) == "2026-11-30T13:00:00+01:00"
    assert take_charge(evaluation).state == State.RUNNING


# -- states --------------------------------------------------------------------------------------------


def test_high_take_charge_is_breached_at_its_due_instant(hipcom: Policy) -> None:
    assert take_charge(run(hipcom, "high", OPENED + 30 * MIN - timedelta(microseconds=1))).state == State.RUNNING
    at_due = take_charge(run(hipcom, "high", OPENED + 30 * MIN))
    assert (at_due.state, at_due.overdue) == (State.BREACHED, timedelta(0))


def test_ongoing_breach_overdue_grows(hipcom: Policy) -> None:
    assert take_charge(run(hipcom, "high", OPENED + 45 * MIN)).overdue == 15 * MIN
    assert take_charge(run(hipcom, "high", OPENED + 3 * H)).overdue == 150 * MIN


def test_acknowledged_in_time_is_met(hipcom: Policy) -> None:
    status = take_charge(run(hipcom, "high", OPENED + 2 * H, acknowledged_at=OPENED + 20 * MIN))
    assert (status.state, status.overdue, local(status.stopped_at)) == (
        State.MET,
        timedelta(0),
        "2026-11-27T10:20:00+01:00",
    )


def test_acknowledged_exactly_at_due_is_met(hipcom: Policy) -> None:
    assert take_charge(run(hipcom, "high", OPENED + H, acknowledged_at=OPENED + 30 * MIN)).state == State.MET


def test_late_acknowledgement_is_missed_with_overdue_frozen(hipcom: Policy) -> None:
    ack = OPENED + 50 * MIN
    soon = take_charge(run(hipcom, "high", OPENED + H, acknowledged_at=ack))
    later = take_charge(run(hipcom, "high", OPENED + 30 * H, acknowledged_at=ack))
    assert soon.state == later.state == State.MISSED
    assert soon.overdue == later.overdue == 20 * MIN


def test_resolved_without_acknowledgement_counts_as_taken_in_charge_at_resolution(hipcom: Policy) -> None:
    evaluation = run(hipcom, "high", OPENED + 5 * H, gtr=True, resolved_at=OPENED + 25 * MIN)
    assert take_charge(evaluation).stopped_at == OPENED + 25 * MIN
    assert take_charge(evaluation).state == State.MET
    assert resolution(evaluation).state == State.MET


def test_resolved_late_without_acknowledgement_misses_both(hipcom: Policy) -> None:
    evaluation = run(hipcom, "high", OPENED + 9 * H, gtr=True, resolved_at=OPENED + 5 * H)
    assert (take_charge(evaluation).state, take_charge(evaluation).overdue) == (State.MISSED, 270 * MIN)
    assert (resolution(evaluation).state, resolution(evaluation).overdue) == (State.MISSED, H)


def test_business_overdue_is_absolute_time_across_a_dst_weekend(hipcom: Policy) -> None:
    # Low opened Friday 2026-03-27 13:00: take-charge due 17:00 (+01:00). On Monday 09:00 (+02:00)
    # the breach is 63 h old: the weekend lost an hour, business hours or not.
    evaluation = run(hipcom, "low", paris(2026, 3, 30, 9), opened=paris(2026, 3, 27, 13))
    assert (take_charge(evaluation).state, take_charge(evaluation).overdue) == (State.BREACHED, 63 * H)


# -- DST on the 24/7 clock ----------------------------------------------------------------------------------


def test_high_opened_in_the_autumn_dst_night(hipcom: Policy) -> None:
    opened = paris(2026, 10, 25, 1, 30)  # +02:00
    evaluation = run(hipcom, "high", opened + 10 * MIN, opened=opened, gtr=True)
    assert local(take_charge(evaluation).due_at) == "2026-10-25T02:00:00+02:00"
    assert local(resolution(evaluation).due_at) == "2026-10-25T04:30:00+01:00"


def test_medium_opened_the_day_before_spring_dst(hipcom: Policy) -> None:
    opened = paris(2026, 3, 28, 10)
    evaluation = run(hipcom, "medium", opened + 10 * MIN, opened=opened)
    assert local(take_charge(evaluation).due_at) == "2026-03-28T12:00:00+01:00"
    assert local(resolution(evaluation).due_at) == "2026-03-30T11:00:00+02:00"


# -- pauses ("en attente client") ----------------------------------------------------------------------------


def test_closed_pause_pushes_the_resolution_deadline(hipcom: Policy) -> None:
    pauses = (Pause(OPENED + 10 * MIN, OPENED + 30 * MIN),)
    evaluation = run(hipcom, "high", OPENED + 45 * MIN, gtr=True, pauses=pauses)
    assert local(resolution(evaluation).due_at) == "2026-11-27T14:20:00+01:00"
    assert resolution(evaluation).state == State.RUNNING


def test_two_closed_pauses_add_up(hipcom: Policy) -> None:
    pauses = (Pause(OPENED + H, OPENED + 2 * H), Pause(OPENED + 3 * H, OPENED + 3 * H + 30 * MIN))
    evaluation = run(hipcom, "medium", OPENED + 4 * H, pauses=pauses)
    assert local(resolution(evaluation).due_at) == "2026-11-29T11:30:00+01:00"


def test_open_pause_is_paused_with_no_due_date(hipcom: Policy) -> None:
    pauses = (Pause(OPENED + H),)
    status = resolution(run(hipcom, "high", OPENED + 6 * H, gtr=True, pauses=pauses))
    assert (status.state, status.due_at, status.overdue) == (State.PAUSED, None, timedelta(0))


def test_pause_after_the_deadline_changes_nothing(hipcom: Policy) -> None:
    without = resolution(run(hipcom, "high", OPENED + 6 * H, gtr=True))
    for pause in (Pause(OPENED + 5 * H), Pause(OPENED + 5 * H, OPENED + 5 * H + 30 * MIN), Pause(OPENED + 4 * H)):
        status = resolution(run(hipcom, "high", OPENED + 6 * H, gtr=True, pauses=(pause,)))
        assert (status.due_at, status.state, status.overdue) == (without.due_at, State.BREACHED, 2 * H)


def test_pauses_never_affect_take_charge(hipcom: Policy) -> None:
    pauses = (Pause(OPENED + 5 * MIN),)
    evaluation = run(hipcom, "high", OPENED + 45 * MIN, gtr=True, pauses=pauses)
    assert local(take_charge(evaluation).due_at) == "2026-11-27T10:30:00+01:00"
    assert (take_charge(evaluation).state, take_charge(evaluation).overdue) == (State.BREACHED, 15 * MIN)
    assert resolution(evaluation).state == State.PAUSED


def test_pause_outside_business_hours_changes_nothing(hipcom: Policy) -> None:
    # Low opened Friday 2026-11-27 10:00; a pause over the weekend costs no business time.
    without = resolution(run(hipcom, "low", paris(2026, 11, 30, 12)))
    pauses = (Pause(paris(2026, 11, 27, 19), paris(2026, 11, 30, 8)),)
    status = resolution(run(hipcom, "low", paris(2026, 11, 30, 12), pauses=pauses))
    assert status.due_at == without.due_at


def test_pause_over_business_hours_is_excluded(hipcom: Policy) -> None:
    # Pause Monday 30/11 09:00–11:00: two business hours more.
    pauses = (Pause(paris(2026, 11, 30, 9), paris(2026, 11, 30, 11)),)
    status = resolution(run(hipcom, "low", paris(2026, 11, 30, 12), pauses=pauses))
    assert local(status.due_at) == "2026-12-11T18:00:00+01:00"


def test_resolved_during_an_open_pause_is_met(hipcom: Policy) -> None:
    pauses = (Pause(OPENED + H),)
    evaluation = run(hipcom, "high", OPENED + 8 * H, gtr=True, pauses=pauses, resolved_at=OPENED + 6 * H)
    assert resolution(evaluation).state == State.MET


def test_due_at_with_pause_starting_exactly_at_the_deadline(hipcom: Policy) -> None:
    clock = hipcom.clock("24/7")
    start = OPENED.astimezone(UTC)
    assert due_at(clock, start, H, (Pause(start + H),)) == start + H
    assert due_at(clock, start, H, (Pause(start + H - MIN),)) is None


# -- facts later than the evaluation instant are ignored ---------------------------------------------------


def test_acknowledgement_after_the_evaluation_instant_does_not_stop_the_clock(hipcom: Policy) -> None:
    status = take_charge(run(hipcom, "high", OPENED + 45 * MIN, acknowledged_at=OPENED + H))
    assert (status.state, status.stopped_at, status.overdue) == (State.BREACHED, None, 15 * MIN)


def test_pause_ending_after_the_evaluation_instant_is_open(hipcom: Policy) -> None:
    pauses = (Pause(OPENED + H, OPENED + 3 * H),)
    status = resolution(run(hipcom, "high", OPENED + 2 * H, gtr=True, pauses=pauses))
    assert (status.state, status.due_at) == (State.PAUSED, None)


def test_pause_starting_after_the_evaluation_instant_is_ignored(hipcom: Policy) -> None:
    pauses = (Pause(OPENED + 3 * H, OPENED + 4 * H),)
    status = resolution(run(hipcom, "high", OPENED + 2 * H, gtr=True, pauses=pauses))
    assert (status.state, local(status.due_at)) == (State.RUNNING, "2026-11-27T14:00:00+01:00")


def test_resolution_after_the_evaluation_instant_is_not_known(hipcom: Policy) -> None:
    evaluation = run(hipcom, "high", OPENED + H, gtr=True, resolved_at=OPENED + 2 * H)
    assert evaluation.facts.resolved_at is None
    assert take_charge(evaluation).state == State.BREACHED
    assert resolution(evaluation).state == State.RUNNING
