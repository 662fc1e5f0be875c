"""The evaluation contract of SPEC §2 as functions: JSON-shaped facts in, JSON-shaped answer out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from escalade.core.contract import (
    FactsError,
    error_json,
    evaluation_json,
    facts_from_json,
    format_instant,
    parse_instant,
    request_number_candidates,
    whole_minutes,
)
from escalade.core.escalation import evaluate
from escalade.core.policy import Policy

PARIS = ZoneInfo("Europe/Paris")
AT = datetime(2026, 11, 27, 10, 45, tzinfo=PARIS)

SPEC_INPUT = json.loads(
    """{"request_number": "REQ-1042", "priority": "high", "gtr": true, "track": "support",
 "opened_at": "2026-11-27T10:00:00+01:00", "acknowledged_at": null, "resolved_at": null,
 "pauses": [{"start": "2026-11-27T10:10:00+01:00", "end": "2026-11-27T10:30:00+01:00"}]}"""
)

SPEC_OUTPUT = json.loads(
    """{"request_number": "REQ-1042", "priority": "high", "evaluated_at": "2026-11-27T10:45:00+01:00",
 "commitments": {
   "take_charge": {"target_minutes": 30, "clock": "24/7", "due_at": "2026-11-27T10:30:00+01:00",
                   "stopped_at": null, "state": "breached", "overdue_minutes": 15},
   "resolution":  {"target_minutes": 240, "clock": "24/7", "due_at": "2026-11-27T14:20:00+01:00",
                   "stopped_at": null, "state": "running", "overdue_minutes": 0}},
 "escalation": {"allowed": false, "level": 0, "reason": "threshold_not_reached",
                "message": "…", "eligible_at": "2026-11-27T11:00:00+01:00", "next_level_at": null,
                "contacts": []}}"""
)


def answer(policy: Policy, raw: dict[str, Any], at: datetime = AT) -> dict[str, Any]:
    at = at.astimezone(UTC)
    return evaluation_json(policy, evaluate(policy, facts_from_json(policy, raw, at), at))


def error_code(policy: Policy, raw: object, at: datetime = AT) -> str:
    with pytest.raises(FactsError) as caught:
        facts_from_json(policy, raw, at.astimezone(UTC))
    return caught.value.code


def test_spec_example_is_answered_field_for_field(hipcom: Policy) -> None:
    got = answer(hipcom, SPEC_INPUT)
    message = got["escalation"].pop("message")
    expected = json.loads(json.dumps(SPEC_OUTPUT))
    expected["escalation"].pop("message")
    assert got == expected
    assert message.startswith("Le délai de prise en charge est dépassé de 15 mn")


def test_optional_fields_have_their_defaults(hipcom: Policy) -> None:
    facts = facts_from_json(
        hipcom, {"request_number": "REQ-1", "priority": "high", "opened_at": "2026-11-27T09:00:00Z"}, AT
    )
    assert (facts.gtr, facts.track, facts.acknowledged_at, facts.resolved_at, facts.pauses) == (
        False,
        "support",
        None,
        None,
        (),
    )
    assert answer(hipcom, {"request_number": "REQ-1", "priority": "high", "opened_at": "2026-11-27T10:00:00+01:00"})[
        "commitments"
    ]["resolution"] is None


def test_contacts_of_an_eligible_answer(hipcom: Policy) -> None:
    raw = {"request_number": "REQ-7", "priority": "high", "track": "production", "opened_at": "2026-11-27T08:00:00+01:00"}
    escalation = answer(hipcom, raw)["escalation"]
    assert (escalation["allowed"], escalation["level"], escalation["reason"]) == (True, 3, "eligible")
    assert escalation["contacts"] == [
        {
            "level": 3,
            "name": "Guillaume MASUIT",
            "role": "Directeur",
            "phones": ["+33456406000"],
            "email": "guillaume@hipcom.fr",
        }
    ]
    raw["opened_at"] = "2026-11-27T09:45:00+01:00"  # 30 min overdue: level 1, production track
    escalation = answer(hipcom, raw)["escalation"]
    assert [c["name"] for c in escalation["contacts"]] == ["Adrien Bourdon"]
    assert escalation["next_level_at"] == "2026-11-27T11:15:00+01:00"


def test_instants_are_given_in_the_policys_zone_to_the_second(hipcom: Policy) -> None:
    raw = {
        "request_number": "REQ-1",
        "priority": "high",
        "opened_at": "2026-11-27T09:00:00.750000Z",
        "acknowledged_at": "2026-11-27T09:10:30.999+00:00",
    }
    got = answer(hipcom, raw)
    assert got["commitments"]["take_charge"]["due_at"] == "2026-11-27T10:30:00+01:00"
    assert got["commitments"]["take_charge"]["stopped_at"] == "2026-11-27T10:10:30+01:00"


def test_overdue_minutes_are_rounded_down(hipcom: Policy) -> None:
    raw = {"request_number": "REQ-1", "priority": "high", "opened_at": "2026-11-27T10:14:00.000001+01:00"}
    # Due 10:44:00.000001; at 10:45 the overdue is 59.999999 s: 0 minutes.
    assert answer(hipcom, raw)["commitments"]["take_charge"]["overdue_minutes"] == 0
    assert whole_minutes(timedelta(minutes=2, seconds=59, microseconds=999_999)) == 2


def test_summer_instants_carry_the_summer_offset(hipcom: Policy) -> None:
    raw = {"request_number": "REQ-1", "priority": "medium", "opened_at": "2026-03-28T09:00:00Z"}
    got = answer(hipcom, raw, datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert got["commitments"]["take_charge"]["due_at"] == "2026-03-28T12:00:00+01:00"
    assert got["commitments"]["resolution"]["due_at"] == "2026-03-30T11:00:00+02:00"
    assert got["evaluated_at"] == "2026-03-29T14:00:00+02:00"


def test_format_instant() -> None:
    instant = datetime(2026, 10, 25, 0, 30, 59, 999_999, tzinfo=UTC)
    assert format_instant(instant, PARIS) == "2026-10-25T02:30:59+02:00"
    assert format_instant(instant + timedelta(hours=1), PARIS) == "2026-10-25T02:30:59+01:00"
    assert format_instant(instant.astimezone(PARIS), PARIS) == "2026-10-25T02:30:59+02:00"
    assert format_instant(None, PARIS) is None


# -- bad input ---------------------------------------------------------------------------------------


def base(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {"request_number": "REQ-1042", "priority": "high", "opened_at": "2026-11-27T10:00:00+01:00"}
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (base(priority="urgent"), "unknown_priority"),
        (base(priority=None), "unknown_priority"),
        (base(opened_at="27/11/2026 10:00"), "invalid_instant"),
        (base(opened_at=1764234000), "invalid_instant"),
        (base(opened_at="2026-11-27T10:00:00"), "naive_instant"),
        (base(acknowledged_at="2026-11-27T10:20:00"), "naive_instant"),
        (base(acknowledged_at="2026-11-27T09:59:59+01:00"), "acknowledged_before_opened"),
        (base(resolved_at="2026-11-27T08:00:00Z"), "resolved_before_opened"),
        (base(opened_at="2026-11-27T10:45:01+01:00"), "opened_after_evaluation"),
        (base(opened_at=None), "missing_opened_at"),
        (
            base(
                pauses=[
                    {"start": "2026-11-27T10:10:00+01:00", "end": "2026-11-27T10:30:00+01:00"},
                    {"start": "2026-11-27T10:29:00+01:00", "end": "2026-11-27T10:40:00+01:00"},
                ]
            ),
            "overlapping_pauses",
        ),
        (
            base(pauses=[{"start": "2026-11-27T10:10:00+01:00"}, {"start": "2026-11-27T10:20:00+01:00"}]),
            "overlapping_pauses",
        ),
        (base(pauses=[{"start": "2026-11-27T10:10:00+01:00", "end": "2026-11-27T10:05:00+01:00"}]), "invalid_pause"),
        (base(pauses=[{"start": "2026-11-27T09:10:00+01:00"}]), "pause_before_opened"),
        (base(pauses=[{"end": "2026-11-27T10:10:00+01:00"}]), "invalid_pause"),
        (base(pauses="none"), "invalid_pause"),
        (base(pauses=[{"start": "2026-11-27T10:10:00"}]), "naive_instant"),
        (base(request_number=None), "request_number_required"),
        (base(request_number="  "), "request_number_required"),
        (base(request_number="REQ 1042"), "invalid_request_number"),
        (base(request_number=1042), "invalid_request_number"),
        (base(gtr="oui"), "invalid_gtr"),
        (base(track="commercial"), "unknown_track"),
        # JSON arrays and objects are no dictionary key: a clear error, not a crash of the whole run
        (base(priority=["high"]), "unknown_priority"),
        (base(priority={"key": "high"}), "unknown_priority"),
        (base(track=["support"]), "unknown_track"),
        (base(gtr=1), "invalid_gtr"),
        ([1, 2], "invalid_json"),
    ],
)
def test_bad_input_gets_a_stable_code(hipcom: Policy, raw: object, code: str) -> None:
    assert error_code(hipcom, raw) == code


def test_missing_request_number_is_a_clear_error(hipcom: Policy) -> None:
    raw = base()
    del raw["request_number"]
    with pytest.raises(FactsError) as caught:
        facts_from_json(hipcom, raw, AT)
    assert caught.value.code == "request_number_required"
    assert caught.value.message == "Le numéro de requête de l'incident est obligatoire."
    assert error_json(raw, caught.value) == {
        "request_number": None,
        "error": "Le numéro de requête de l'incident est obligatoire.",
        "code": "request_number_required",
    }


def test_error_line_names_its_incident(hipcom: Policy) -> None:
    raw = base(priority="urgent")
    with pytest.raises(FactsError) as caught:
        facts_from_json(hipcom, raw, AT)
    line = error_json(raw, caught.value)
    assert line["request_number"] == "REQ-1042"
    assert line["code"] == "unknown_priority"
    assert "Priorité inconnue « urgent »" in line["error"]


def test_touching_pauses_are_fine(hipcom: Policy) -> None:
    raw = base(
        gtr=True,
        pauses=[
            {"start": "2026-11-27T10:10:00+01:00", "end": "2026-11-27T10:20:00+01:00"},
            {"start": "2026-11-27T10:20:00+01:00", "end": "2026-11-27T10:30:00+01:00"},
        ],
    )
    assert answer(hipcom, raw)["commitments"]["resolution"]["due_at"] == "2026-11-27T14:20:00+01:00"


def test_facts_at_the_evaluation_instant_count(hipcom: Policy) -> None:
    raw = base(opened_at="2026-11-27T10:45:00+01:00", acknowledged_at="2026-11-27T10:45:00+01:00")
    assert answer(hipcom, raw)["commitments"]["take_charge"]["state"] == "met"


def test_facts_later_than_the_evaluation_instant_are_ignored(hipcom: Policy) -> None:
    raw = base(
        gtr=True,
        acknowledged_at="2026-11-27T11:00:00+01:00",
        pauses=[{"start": "2026-11-27T10:40:00+01:00", "end": "2026-11-27T11:00:00+01:00"}],
    )
    got = answer(hipcom, raw)
    assert got["commitments"]["take_charge"]["state"] == "breached"
    assert got["commitments"]["take_charge"]["stopped_at"] is None
    assert got["commitments"]["resolution"]["state"] == "paused"
    assert got["commitments"]["resolution"]["due_at"] is None


def test_parse_instant_accepts_z_and_offsets() -> None:
    assert parse_instant("2026-11-27T09:00:00Z", "x") == datetime(2026, 11, 27, 9, tzinfo=UTC)
    assert parse_instant("2026-11-27T10:00:00+01:00", "x") == datetime(2026, 11, 27, 9, tzinfo=UTC)


@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00+14:00",  # in year 0 once in UTC: the conversion itself overflowed
    "0001-01-01T00:00:00Z",  # the calendar looked at the day before
    "9999-12-31T23:59:59-12:00",
    "1969-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
])
def test_instants_at_the_ends_of_time_are_refused_not_overflowed(value):
    from escalade.core.contract import parse_instant

    with pytest.raises(FactsError) as refused:
        parse_instant(value, "opened_at")
    assert refused.value.code == "instant_out_of_range"
    assert "hors de la plage acceptée" in refused.value.message


def test_evaluate_answers_an_instant_out_of_range_as_an_error_line(hipcom):
    import io
    import json
    from datetime import UTC, datetime

    from escalade.evaluate.stream import documents, evaluate_stream

    out = io.StringIO()
    line = json.dumps({"request_number": "REQ-1042", "priority": "low", "opened_at": "0001-01-01T00:00:00Z"})
    status = evaluate_stream(hipcom, datetime(2026, 11, 27, 11, tzinfo=UTC), documents([line]), out)
    assert status == 1
    assert json.loads(out.getvalue())["code"] == "instant_out_of_range"


@pytest.mark.parametrize(("typed", "meant"), [
    ("REQ-1042", ("REQ-1042",)),
    ("req-1042", ("REQ-1042",)),
    ("REQ 1042", ("REQ-1042", "REQ1042")),  # the dash first; glued is ServiceNow's shape
    ("  req  -  1042 ", ("REQ-1042",)),
    ("1042", ("1042", "REQ-1042")),  # digits alone: a helpdesk's number, or the example's prefix completes them
    ("0001042", ("0001042", "1042", "REQ-0001042")),  # GLPI's padding
    ("INC 2026001", ("INC-2026001", "INC2026001")),
    ("pas un numéro", ()),
    ("REQ-", ()),
])
def test_request_number_candidates_forgive_case_spaces_and_the_prefix(hipcom: Policy, typed: str,
                                                                      meant: tuple[str, ...]) -> None:
    assert request_number_candidates(hipcom, typed) == meant


def test_request_number_candidates_keep_a_policys_own_shapes(hipcom: Policy) -> None:
    import dataclasses
    import re

    digits = dataclasses.replace(hipcom, request_number_pattern=re.compile(r"^(?:[0-9]{1,12}|I-[0-9]{6})$"),
                                 request_number_example="I-000123")
    assert request_number_candidates(digits, "1042") == ("1042",)  # GLPI, Zammad: digits are the number
    assert request_number_candidates(digits, "i-000123") == ("I-000123",)  # iTop
