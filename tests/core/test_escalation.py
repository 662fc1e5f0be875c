"""The escalation decision (SPEC §1.4) with the seed procedure's thresholds and contacts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalade.core.escalation import (
    CrossingKind,
    EscalationDecision,
    Reason,
    check_requested_level,
    crossings,
    evaluate,
    next_change_at,
    reached_level,
)
from escalade.core.policy import Policy, policy_from_toml
from escalade.core.sla import IncidentFacts, Pause

PARIS = ZoneInfo("Europe/Paris")
MIN = timedelta(minutes=1)
H = timedelta(hours=1)
OPENED = datetime(2026, 11, 27, 10, tzinfo=PARIS)  # Friday


def local(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(PARIS).isoformat()


def decide(policy: Policy, priority: str, at: datetime, **facts: object) -> EscalationDecision:
    incident = IncidentFacts("REQ-1042", priority, OPENED, **facts)  # type: ignore[arg-type]
    return evaluate(policy, incident, at).escalation


# -- each threshold at −1 min, exactly, +1 min (inclusive thresholds) ------------------------------------

# (priority, take-charge target, level, threshold): the deadline is the take-charge one.
THRESHOLDS = [
    ("high", 30 * MIN, 1, 30 * MIN),
    ("high", 30 * MIN, 2, 1 * H),
    ("high", 30 * MIN, 3, 2 * H),
    ("medium", 2 * H, 1, 1 * H),
    ("medium", 2 * H, 2, 12 * H),
    ("medium", 2 * H, 3, 24 * H),
]


@pytest.mark.parametrize(
    ("priority", "target", "level", "threshold"),
    THRESHOLDS,
    ids=[f"{p}-level-{lvl}" for p, _, lvl, _ in THRESHOLDS],
)
def test_level_opens_exactly_at_its_threshold_after_the_deadline(
    hipcom: Policy, priority: str, target: timedelta, level: int, threshold: timedelta
) -> None:
    deadline = OPENED + target
    before = decide(hipcom, priority, deadline + threshold - MIN)
    exactly = decide(hipcom, priority, deadline + threshold)
    after = decide(hipcom, priority, deadline + threshold + MIN)
    assert before.level == level - 1
    assert exactly.level == level
    assert after.level == level
    assert exactly.allowed and after.allowed
    assert before.allowed is (level > 1)


def test_high_priority_level_1_opens_30_minutes_after_deadline(hipcom: Policy) -> None:
    # Take charge due 10:30: level 1 from 11:00.
    assert decide(hipcom, "high", OPENED + 59 * MIN).reason == Reason.THRESHOLD_NOT_REACHED
    decision = decide(hipcom, "high", OPENED + H)
    assert (decision.allowed, decision.level, decision.reason) == (True, 1, Reason.ELIGIBLE)


def test_high_priority_level_2_opens_one_hour_after_deadline(hipcom: Policy) -> None:
    assert decide(hipcom, "high", OPENED + 89 * MIN).level == 1
    assert decide(hipcom, "high", OPENED + 90 * MIN).level == 2


def test_high_priority_level_3_opens_two_hours_after_deadline(hipcom: Policy) -> None:
    assert decide(hipcom, "high", OPENED + 149 * MIN).level == 2
    assert decide(hipcom, "high", OPENED + 150 * MIN).level == 3
    assert decide(hipcom, "high", OPENED + 30 * H).level == 3


def test_medium_priority_levels_open_1_12_and_24_hours_after_deadline(hipcom: Policy) -> None:
    # Take charge due 12:00.
    assert decide(hipcom, "medium", OPENED + 3 * H).level == 1
    assert decide(hipcom, "medium", OPENED + 14 * H).level == 2
    assert decide(hipcom, "medium", OPENED + 26 * H).level == 3


def test_reached_level_is_inclusive() -> None:
    thresholds = (30 * MIN, H, 2 * H)
    assert [reached_level(thresholds, d) for d in (0 * MIN, 29 * MIN, 30 * MIN, H, 2 * H, 9 * H)] == [
        0,
        0,
        1,
        2,
        3,
        3,
    ]


# -- refusals -------------------------------------------------------------------------------------------


def test_low_priority_is_never_escalable(hipcom: Policy) -> None:
    decision = decide(hipcom, "low", OPENED + 30 * 24 * H)
    assert (decision.allowed, decision.level, decision.reason) == (False, 0, Reason.PRIORITY_NOT_ESCALABLE)
    assert decision.contacts == ()
    assert decision.message == (
        "Seuls les incidents de niveau de priorité moyen ou élevé peuvent donner lieu à une escalade ; "
        "cet incident est de niveau de priorité faible."
    )


def test_not_escalable_message_names_the_policys_escalable_priorities(hipcom_text: str) -> None:
    # Only "high" escalable: medium's thresholds dropped, escalable = false.
    start = hipcom_text.index("[priorities.medium]")
    end = hipcom_text.index("[priorities.high]")
    medium = hipcom_text[start:end].replace("escalable = true", "escalable = false")
    medium = "\n".join(line for line in medium.splitlines() if "escalation_thresholds" not in line) + "\n"
    policy = policy_from_toml(hipcom_text[:start] + medium + hipcom_text[end:])
    decision = decide(policy, "medium", OPENED + 30 * 24 * H)
    assert decision.reason == Reason.PRIORITY_NOT_ESCALABLE
    assert decision.message == (
        "Seuls les incidents de niveau de priorité élevé peuvent donner lieu à une escalade ; "
        "cet incident est de niveau de priorité moyen."
    )


def test_resolved_incident_is_never_escalable(hipcom: Policy) -> None:
    decision = decide(hipcom, "high", OPENED + 10 * H, resolved_at=OPENED + 8 * H)
    assert (decision.allowed, decision.level, decision.reason) == (False, 0, Reason.INCIDENT_RESOLVED)
    assert decision.eligible_at is None and decision.next_level_at is None
    assert "résolu" in decision.message


def test_no_commitment_exceeded_gives_eligible_at(hipcom: Policy) -> None:
    # High with GTR at 10:10: take charge due 10:30, resolution 14:00 → level 1 at 11:00 at the earliest.
    decision = decide(hipcom, "high", OPENED + 10 * MIN, gtr=True)
    assert (decision.allowed, decision.reason) == (False, Reason.NO_COMMITMENT_EXCEEDED)
    assert local(decision.eligible_at) == "2026-11-27T11:00:00+01:00"
    assert decision.next_level_at is None
    assert "27/11/2026 à 11:00" in decision.message


def test_no_commitment_exceeded_after_acknowledgement_waits_for_resolution(hipcom: Policy) -> None:
    decision = decide(hipcom, "high", OPENED + H, gtr=True, acknowledged_at=OPENED + 5 * MIN)
    assert decision.reason == Reason.NO_COMMITMENT_EXCEEDED
    assert local(decision.eligible_at) == "2026-11-27T14:30:00+01:00"


def test_medium_eligible_at_is_one_hour_after_take_charge_deadline(hipcom: Policy) -> None:
    decision = decide(hipcom, "medium", OPENED + H)
    assert local(decision.eligible_at) == "2026-11-27T13:00:00+01:00"


def test_nothing_can_exceed_any_more_gives_no_eligible_at(hipcom: Policy) -> None:
    # High without GTR, acknowledged in time: no commitment left to exceed.
    decision = decide(hipcom, "high", OPENED + 5 * H, acknowledged_at=OPENED + 10 * MIN)
    assert (decision.reason, decision.eligible_at) == (Reason.NO_COMMITMENT_EXCEEDED, None)
    # Resolution paused, take-charge met: no date either while the pause lasts.
    decision = decide(
        hipcom, "high", OPENED + 5 * H, gtr=True, acknowledged_at=OPENED + 10 * MIN, pauses=(Pause(OPENED + H),)
    )
    assert (decision.reason, decision.eligible_at) == (Reason.NO_COMMITMENT_EXCEEDED, None)


def test_threshold_not_reached_gives_eligible_at(hipcom: Policy) -> None:
    decision = decide(hipcom, "high", OPENED + 45 * MIN)
    assert (decision.allowed, decision.level, decision.reason) == (False, 0, Reason.THRESHOLD_NOT_REACHED)
    assert local(decision.eligible_at) == "2026-11-27T11:00:00+01:00"
    assert "dépassé de 15 mn" in decision.message
    assert "au moins 30 mn" in decision.message


def test_missed_take_charge_below_threshold_waits_for_resolution(hipcom: Policy) -> None:
    # Acknowledged 10 min late: that overdue is frozen under 30 min; only the resolution can open level 1.
    decision = decide(hipcom, "high", OPENED + 2 * H, gtr=True, acknowledged_at=OPENED + 40 * MIN)
    assert decision.reason == Reason.THRESHOLD_NOT_REACHED
    assert local(decision.eligible_at) == "2026-11-27T14:30:00+01:00"


# -- eligible: levels, next level, contacts by track ---------------------------------------------------


def test_eligible_level_1_support_contact_and_next_level_at(hipcom: Policy) -> None:
    decision = decide(hipcom, "high", OPENED + H)
    assert (decision.allowed, decision.level, decision.reason) == (True, 1, Reason.ELIGIBLE)
    assert decision.eligible_at is None
    assert local(decision.next_level_at) == "2026-11-27T11:30:00+01:00"
    ((name, phones, email),) = [(c.name, c.phones, c.email) for c in decision.contacts]
    assert (name, phones, email) == ("Support Technique", ("+33426781067",), "escalade@hipcom.fr")
    assert "niveau 1" in decision.message and "niveau 2 sera ouvert le 27/11/2026 à 11:30" in decision.message


def test_eligible_level_1_production_contact(hipcom: Policy) -> None:
    decision = decide(hipcom, "high", OPENED + H, track="production")
    assert [(c.level, c.name, c.role, c.phones, c.email) for c in decision.contacts] == [
        (1, "Adrien Bourdon", "ADV", ("+33426780478",), "adrien@hipcom.fr")
    ]


@pytest.mark.parametrize("track", ["support", "production"])
def test_level_2_is_vincent_blusseau_with_two_phones(hipcom: Policy, track: str) -> None:
    decision = decide(hipcom, "high", OPENED + 90 * MIN, track=track)
    assert decision.level == 2
    assert [(c.name, c.phones, c.email) for c in decision.contacts] == [
        ("Vincent BLUSSEAU", ("+33456406074", "+33695436826"), "vincent@hipcom.fr")
    ]
    assert local(decision.next_level_at) == "2026-11-27T12:30:00+01:00"


@pytest.mark.parametrize("track", ["support", "production"])
def test_level_3_is_guillaume_masuit_and_there_is_no_next_level(hipcom: Policy, track: str) -> None:
    decision = decide(hipcom, "medium", OPENED + 26 * H, track=track)
    assert decision.level == 3
    assert [(c.name, c.role, c.phones, c.email) for c in decision.contacts] == [
        ("Guillaume MASUIT", "Directeur", ("+33456406000",), "guillaume@hipcom.fr")
    ]
    assert decision.next_level_at is None


def test_largest_overdue_decides_the_level(hipcom: Policy) -> None:
    # Take charge missed by 70 min (frozen, level 2); resolution breached by 40 min (level 1).
    decision = decide(hipcom, "high", OPENED + 4 * H + 40 * MIN, gtr=True, acknowledged_at=OPENED + 100 * MIN)
    assert decision.level == 2
    # Next level from the resolution, still counting: 14:00 + 2 h.
    assert local(decision.next_level_at) == "2026-11-27T16:00:00+01:00"


def test_next_level_at_ignores_a_missed_commitment(hipcom: Policy) -> None:
    # Take charge missed by 35 min (level 1, frozen); high without GTR has nothing else counting.
    decision = decide(hipcom, "high", OPENED + 3 * H, acknowledged_at=OPENED + 65 * MIN)
    assert (decision.allowed, decision.level, decision.next_level_at) == (True, 1, None)


# -- a requester's level -------------------------------------------------------------------------------


def test_asking_for_a_lower_level_is_fine(hipcom: Policy) -> None:
    decision = decide(hipcom, "high", OPENED + 3 * H)  # level 3
    for requested in (1, 2, 3):
        check = check_requested_level(decision, requested, hipcom.levels)
        assert (check.granted_level, check.code) == (requested, "eligible")


def test_asking_for_no_level_gets_the_allowed_one(hipcom: Policy) -> None:
    check = check_requested_level(decide(hipcom, "high", OPENED + 90 * MIN), None, hipcom.levels)
    assert (check.granted_level, check.code) == (2, "eligible")


def test_asking_for_a_higher_level_is_refused(hipcom: Policy) -> None:
    check = check_requested_level(decide(hipcom, "high", OPENED + H), 2, hipcom.levels)
    assert (check.granted_level, check.code) == (0, "level_above_allowed")
    assert "niveau 2 n'est pas encore possible" in check.message
    assert "niveau 1" in check.message


@pytest.mark.parametrize("requested", [0, -1, 4, 99])
@pytest.mark.parametrize("at", [OPENED + H, OPENED + 3 * H], ids=["level-1-allowed", "level-3-allowed"])
def test_asking_for_a_level_the_policy_does_not_have_is_invalid_level(
    hipcom: Policy, requested: int, at: datetime
) -> None:
    check = check_requested_level(decide(hipcom, "high", at), requested, hipcom.levels)
    assert (check.granted_level, check.code) == (0, "invalid_level")
    assert check.message == f"Le niveau d'escalade demandé ({requested}) n'existe pas : choisir 1, 2 ou 3."


def test_asking_when_not_allowed_gives_the_reason(hipcom: Policy) -> None:
    check = check_requested_level(decide(hipcom, "high", OPENED + 45 * MIN), 1, hipcom.levels)
    assert (check.granted_level, check.code) == (0, "threshold_not_reached")
    check = check_requested_level(decide(hipcom, "low", OPENED + 45 * H), 1, hipcom.levels)
    assert (check.granted_level, check.code) == (0, "priority_not_escalable")


# -- crossings the watcher acts on ----------------------------------------------------------------------------


def test_crossings_of_a_new_high_incident(hipcom: Policy) -> None:
    evaluation = evaluate(hipcom, IncidentFacts("REQ-1042", "high", OPENED), OPENED)
    found = [(c.key, local(c.at)) for c in crossings(hipcom, evaluation)]
    assert found == [
        ("warning:take_charge", "2026-11-27T10:15:00+01:00"),
        ("breach:take_charge", "2026-11-27T10:30:00+01:00"),
        ("level:1", "2026-11-27T11:00:00+01:00"),
        ("level:2", "2026-11-27T11:30:00+01:00"),
        ("level:3", "2026-11-27T12:30:00+01:00"),
    ]
    assert local(next_change_at(hipcom, evaluation)) == "2026-11-27T10:15:00+01:00"


def test_business_warning_is_one_business_hour_before(hipcom: Policy) -> None:
    opened = datetime(2026, 11, 27, 16, tzinfo=PARIS)  # Friday: take charge due Monday 11:00
    evaluation = evaluate(hipcom, IncidentFacts("REQ-1", "low", opened), opened)
    warnings = {c.commitment.value: local(c.at) for c in crossings(hipcom, evaluation) if c.kind == CrossingKind.WARNING}
    assert warnings["take_charge"] == "2026-11-30T10:00:00+01:00"
    assert not [c for c in crossings(hipcom, evaluation) if c.kind == CrossingKind.LEVEL]


def test_resolved_incident_has_no_crossings(hipcom: Policy) -> None:
    facts = IncidentFacts("REQ-1", "high", OPENED, resolved_at=OPENED + H)
    evaluation = evaluate(hipcom, facts, OPENED + 2 * H)
    assert crossings(hipcom, evaluation) == ()
    assert next_change_at(hipcom, evaluation) is None
