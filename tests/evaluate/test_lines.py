"""The evaluate engine's cheap constructors build the very instances the dataclasses' own do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalade.core.escalation import EscalationDecision, Evaluation, Reason
from escalade.core.sla import CommitmentKind, Commitments, CommitmentStatus, IncidentFacts, Pause, State
from escalade.evaluate.lines import FAST_BUILDERS, fast_constructor

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _examples() -> list[object]:
    status = CommitmentStatus(CommitmentKind.TAKE_CHARGE, 30 * MIN, "24/7", T0, None, State.RUNNING, timedelta(0))
    facts = IncidentFacts("REQ-1", "high", T0, True, "support", T0 + MIN, None, (Pause(T0, T0 + MIN),))
    decision = EscalationDecision(False, 0, Reason.NO_COMMITMENT_EXCEEDED, "…", T0, None, ())
    return [
        Pause(T0, None),
        facts,
        status,
        Commitments(status, None),
        decision,
        Evaluation(facts, T0, Commitments(status, status), decision),
    ]


@pytest.mark.parametrize("instance", _examples(), ids=lambda i: type(i).__name__)
def test_fast_constructor_builds_an_equal_frozen_instance(instance: object) -> None:
    cls = type(instance)
    values = [getattr(instance, f.name) for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    built = fast_constructor(cls)(*values)
    assert type(built) is cls
    assert built == instance and hash(built) == hash(instance) and repr(built) == repr(instance)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.__setattr__(dataclasses.fields(cls)[0].name, None)  # type: ignore[arg-type]


def test_the_engine_builds_facts_and_pauses_with_fast_constructors() -> None:
    assert FAST_BUILDERS["make_facts"].__name__ == "build_IncidentFacts"
    assert FAST_BUILDERS["make_pause"].__name__ == "build_Pause"


def test_fast_constructor_refuses_what_it_cannot_build() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    for cls in (NoSlots, Checked, Derived):
        with pytest.raises(TypeError):
            fast_constructor(cls)


# -- as_known_at copies only when it must ---------------------------------------------------------------


def test_facts_in_utc_all_known_are_not_copied() -> None:
    facts = IncidentFacts("REQ-1", "high", T0, acknowledged_at=T0 + MIN, pauses=(Pause(T0, T0 + MIN),))
    assert facts.as_known_at(T0 + MIN) is facts
    assert facts.as_known_at((T0 + MIN).astimezone(ZoneInfo("Europe/Paris"))) is facts
