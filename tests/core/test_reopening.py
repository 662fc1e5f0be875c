"""Reopening a resolved incident (interpretation, SPEC §1.2): the resolution clock resumes, the time
spent resolved counts on no clock and never as overdue, and take-charge stays as it was. Reopening
an incident resolved seven weeks earlier used to open level 3 at once."""

from __future__ import annotations

from datetime import timedelta

from test_sla import MIN, OPENED, H, local, resolution, take_charge

from escalade.core.escalation import crossings, evaluate
from escalade.core.policy import Policy
from escalade.core.sla import IncidentFacts, Resolved, State

WEEKS_7 = timedelta(weeks=7)


def test_reopening_weeks_later_resumes_the_clock_without_counting_the_resolved_weeks(hipcom: Policy) -> None:
    # High with GTR, taken in charge after 10 min, resolved after 1 h, reopened seven weeks later.
    reopened_at = OPENED + H + WEEKS_7
    facts = IncidentFacts("REQ-1042", "high", OPENED, True, acknowledged_at=OPENED + 10 * MIN,
                          reopenings=(Resolved(OPENED + H, reopened_at),))
    evaluation = evaluate(hipcom, facts, reopened_at + 10 * MIN)
    res = resolution(evaluation)
    assert res.state is State.RUNNING and res.overdue == timedelta(0)
    assert res.due_at == reopened_at + 3 * H  # 1 h counted before, 3 h left of the 4 h
    assert take_charge(evaluation).state is State.MET
    assert evaluation.escalation.level == 0 and evaluation.escalation.reason.value == "no_commitment_exceeded"


def test_a_breach_stays_but_the_resolved_interval_is_not_overdue(hipcom: Policy) -> None:
    # Medium: 48 h resolution. Resolved 2 h late (level 1: ≥ 1 h), reopened 50 h later, seen 1 h after.
    due = OPENED + 48 * H
    resolved_at, reopened_at = due + 2 * H, due + 52 * H
    facts = IncidentFacts("REQ-1042", "medium", OPENED, acknowledged_at=OPENED + 30 * MIN,
                          reopenings=(Resolved(resolved_at, reopened_at),))
    evaluation = evaluate(hipcom, facts, reopened_at + H)
    res = resolution(evaluation)
    assert res.state is State.BREACHED and res.due_at == due
    assert res.overdue == 3 * H  # 2 h before the resolution, 1 h since the reopening
    assert evaluation.escalation.level == 1
    # Level 2 (12 h overdue) opens 9 h after the reopening hour, not at the 12th hour after the deadline.
    assert local(evaluation.escalation.next_level_at) == local(reopened_at + 10 * H)
    level_2 = [c for c in crossings(hipcom, evaluation) if c.key == "level:2"]
    assert [c.at for c in level_2] == [reopened_at + 10 * H]


def test_take_charge_stays_at_the_first_resolution_when_never_acknowledged(hipcom: Policy) -> None:
    # High: 30 min take-charge. Resolved after 20 min without acknowledgement (taken in charge then).
    reopened_at = OPENED + 20 * MIN + WEEKS_7
    facts = IncidentFacts("REQ-1042", "high", OPENED, True,
                          reopenings=(Resolved(OPENED + 20 * MIN, reopened_at),))
    tc = take_charge(evaluate(hipcom, facts, reopened_at + H))
    assert (tc.state, tc.stopped_at) == (State.MET, OPENED + 20 * MIN)


def test_seen_while_it_was_resolved_it_is_resolved(hipcom: Policy) -> None:
    facts = IncidentFacts("REQ-1042", "high", OPENED, True, acknowledged_at=OPENED + 10 * MIN,
                          reopenings=(Resolved(OPENED + H, OPENED + WEEKS_7),))
    evaluation = evaluate(hipcom, facts, OPENED + 2 * H)
    assert evaluation.facts.resolved_at == OPENED + H and evaluation.facts.reopenings == ()
    assert resolution(evaluation).state is State.MET
    assert evaluation.escalation.reason.value == "incident_resolved"
