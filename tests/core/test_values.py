"""The core's values: facts as known at an instant, and refusals shared between incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalade.core.escalation import Reason, evaluate
from escalade.core.policy import Policy
from escalade.core.sla import IncidentFacts, Pause

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    "facts",
    [
        IncidentFacts("REQ-1", "high", T0.astimezone(ZoneInfo("Europe/Paris"))),
        IncidentFacts("REQ-1", "high", T0, acknowledged_at=T0 + 2 * MIN),
        IncidentFacts("REQ-1", "high", T0, resolved_at=(T0 + MIN).astimezone(ZoneInfo("Europe/Paris"))),
        IncidentFacts("REQ-1", "high", T0, pauses=(Pause(T0 + 2 * MIN),)),
        IncidentFacts("REQ-1", "high", T0, pauses=(Pause(T0, T0 + 2 * MIN),)),
        IncidentFacts("REQ-1", "high", T0, pauses=(Pause(T0, (T0 + MIN).astimezone(ZoneInfo("Asia/Tokyo"))),)),
    ],
)
def test_facts_known_later_or_not_in_utc_are_copied_in_utc(facts: IncidentFacts) -> None:
    known = facts.as_known_at(T0 + MIN)
    assert known is not facts
    instants = [known.opened_at, known.acknowledged_at, known.resolved_at]
    instants += [i for p in known.pauses for i in (p.start, p.end)]
    assert all(i is None or i.tzinfo is UTC for i in instants)
    assert known.as_known_at(T0 + MIN) is known


def test_refusals_that_depend_only_on_the_priority_are_shared(hipcom: Policy) -> None:
    one = evaluate(hipcom, IncidentFacts("REQ-1", "low", T0), T0 + 10 * MIN).escalation
    two = evaluate(hipcom, IncidentFacts("REQ-2", "low", T0 - MIN), T0 + 20 * MIN).escalation
    assert one is two and one.reason is Reason.PRIORITY_NOT_ESCALABLE
    resolved = IncidentFacts("REQ-3", "high", T0, resolved_at=T0 + MIN)
    assert evaluate(hipcom, resolved, T0 + H).escalation.reason is Reason.INCIDENT_RESOLVED


H = timedelta(hours=1)
