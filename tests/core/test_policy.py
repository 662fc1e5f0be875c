"""HIPCOM's policy as data (the seed procedure's tables), and the validation of broken variants."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from escalade.core.policy import (
    Policy,
    PolicyError,
    parse_duration,
    policy_from_toml,
)

MIN = timedelta(minutes=1)
H = timedelta(hours=1)


# -- the seed procedure's first table: targets per priority, with their clock ----------------------


@pytest.mark.parametrize(
    ("priority", "take_charge", "resolution", "clock", "requires_gtr"),
    [
        ("low", 4 * H, 96 * H, "heures-ouvrees", False),
        ("medium", 2 * H, 48 * H, "24/7", False),
        ("high", 30 * MIN, 4 * H, "24/7", True),
    ],
)
def test_targets_per_priority_with_their_clock(
    hipcom: Policy,
    priority: str,
    take_charge: timedelta,
    resolution: timedelta,
    clock: str,
    requires_gtr: bool,
) -> None:
    rule = hipcom.priorities[priority]
    assert rule.take_charge.target == take_charge
    assert rule.take_charge.clock == clock
    assert rule.resolution is not None
    assert rule.resolution.target == resolution
    assert rule.resolution.clock == clock
    assert rule.resolution.requires_gtr is requires_gtr
    assert rule.take_charge.requires_gtr is False


def test_labels_are_the_procedures_words(hipcom: Policy) -> None:
    assert {k: p.label for k, p in hipcom.priorities.items()} == {
        "low": "faible",
        "medium": "moyen",
        "high": "élevé",
    }


def test_only_medium_and_high_are_escalable(hipcom: Policy) -> None:
    assert {k for k, p in hipcom.priorities.items() if p.escalable} == {"medium", "high"}


# -- the seed procedure's second table: thresholds per level ------------------------------------------


@pytest.mark.parametrize(
    ("priority", "level", "threshold"),
    [
        ("high", 1, 30 * MIN),
        ("high", 2, 1 * H),
        ("high", 3, 2 * H),
        ("medium", 1, 1 * H),
        ("medium", 2, 12 * H),
        ("medium", 3, 24 * H),
    ],
)
def test_escalation_threshold_per_level(
    hipcom: Policy, priority: str, level: int, threshold: timedelta
) -> None:
    assert hipcom.priorities[priority].threshold(level) == threshold


def test_business_calendar_is_monday_to_friday_nine_to_six_in_paris(hipcom: Policy) -> None:
    calendar = hipcom.calendars["heures-ouvrees"]
    assert str(calendar.tz) == "Europe/Paris"
    assert calendar.country == "FR"
    assert [len(calendar.weekly[d]) for d in range(7)] == [1, 1, 1, 1, 1, 0, 0]
    assert {(r.start, r.end) for d in range(5) for r in calendar.weekly[d]} == {(time(9), time(18))}


# -- contacts ------------------------------------------------------------------------------------------


def test_level_1_support_contact(hipcom: Policy) -> None:
    (contact,) = hipcom.contacts_for(1, "support")
    assert (contact.name, contact.role, contact.phones, contact.email) == (
        "Support Technique",
        "Escalade Support",
        ("+33426781067",),
        "escalade@hipcom.fr",
    )


def test_level_1_production_contact(hipcom: Policy) -> None:
    (contact,) = hipcom.contacts_for(1, "production")
    assert (contact.name, contact.role, contact.phones, contact.email) == (
        "Adrien Bourdon",
        "ADV",
        ("+33426780478",),
        "adrien@hipcom.fr",
    )


@pytest.mark.parametrize("track", ["support", "production"])
def test_levels_2_and_3_are_common_to_both_tracks(hipcom: Policy, track: str) -> None:
    (level2,) = hipcom.contacts_for(2, track)
    assert (level2.name, level2.role, level2.phones, level2.email) == (
        "Vincent BLUSSEAU",
        "Responsable d'Exploitation",
        ("+33456406074", "+33695436826"),
        "vincent@hipcom.fr",
    )
    (level3,) = hipcom.contacts_for(3, track)
    assert (level3.name, level3.role, level3.phones, level3.email) == (
        "Guillaume MASUIT",
        "Directeur",
        ("+33456406000",),
        "guillaume@hipcom.fr",
    )


def test_tracks_and_their_general_lines(hipcom: Policy) -> None:
    assert hipcom.default_track == "support"
    assert hipcom.tracks["support"].phone == "+33426781067"
    assert hipcom.tracks["production"].phone == "+33426780478"


@pytest.mark.parametrize("number", ["REQ-1042", "INC-2026001", "1042", "I-000123", "INC0010001", "SUP-123",
                                    "DECL-000001"])
def test_the_default_pattern_takes_the_shapes_helpdesks_use(hipcom: Policy, number: str) -> None:
    assert hipcom.is_request_number(number)  # HIPCOM's procedure fixes no format: the default one


@pytest.mark.parametrize("number", ["req-1042", "N2", "H24", "2026-12-03", "REQ-", "1234567890123", "REQ 1042"])
def test_the_default_pattern_refuses_what_is_no_ticket_number(hipcom: Policy, number: str) -> None:
    assert not hipcom.is_request_number(number)


def test_a_policy_narrows_the_pattern() -> None:
    gold = policy_from_toml(Path("escalade/policies/example-gold.toml").read_text())
    assert gold.is_request_number("INC0010001")
    assert not gold.is_request_number("1042")


# -- durations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "duration"),
    [("30min", 30 * MIN), ("4h", 4 * H), ("1h30min", 90 * MIN), ("2d", 48 * H), (45, 45 * MIN)],
)
def test_parse_duration(text: object, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "4 heures", "h", -5, True, None, "1.5h"])
def test_parse_duration_refuses_nonsense(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


# -- validation of broken variants of hipcom.toml -------------------------------------------------------


def broken(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) >= count, old
    return text.replace(old, new, count)


def issues_of(text: str) -> dict[str, str]:
    with pytest.raises(PolicyError) as caught:
        policy_from_toml(text)
    return {issue.path: issue.message for issue in caught.value.issues}


def test_hipcom_policy_is_valid(hipcom_text: str) -> None:
    policy = policy_from_toml(hipcom_text)
    assert policy.organisation == "HIPCOM"


def test_unknown_calendar_name_in_a_commitment_clock(hipcom_text: str) -> None:
    text = broken(
        hipcom_text,
        'take_charge = { target = "4h", clock = "heures-ouvrees" }',
        'take_charge = { target = "4h", clock = "heures-ouvrables" }',
    )
    issues = issues_of(text)
    assert list(issues) == ["priorities.low.take_charge.clock"]
    assert "horloge inconnue « heures-ouvrables »" in issues["priorities.low.take_charge.clock"]
    assert "heures-ouvrees" in issues["priorities.low.take_charge.clock"]


def test_thresholds_not_increasing(hipcom_text: str) -> None:
    text = broken(hipcom_text, '["30min", "1h", "2h"]', '["30min", "1h", "1h"]')
    issues = issues_of(text)
    assert issues == {
        "priorities.high.escalation_thresholds[2]": (
            "les seuils doivent croître strictement d'un niveau au suivant"
        )
    }


def test_thresholds_decreasing(hipcom_text: str) -> None:
    text = broken(hipcom_text, '["1h", "12h", "24h"]', '["1h", "30min", "24h"]')
    assert list(issues_of(text)) == ["priorities.medium.escalation_thresholds[1]"]


def test_escalable_priorities_open_the_same_levels(hipcom_text: str) -> None:
    text = broken(hipcom_text, '["1h", "12h", "24h"]', '["1h", "12h"]')
    assert issues_of(text) == {
        "priorities": "les priorités escaladables doivent avoir le même nombre de seuils (un par niveau)"
    }


def test_the_levels_are_as_many_as_the_thresholds(hipcom_text: str) -> None:
    """A provider with two levels: two thresholds per escalable priority, contacts of levels 1 and 2."""
    from escalade.core.policy import policy_from_toml

    assert policy_from_toml(hipcom_text).levels == (1, 2, 3)
    text = hipcom_text.replace('["1h", "12h", "24h"]', '["1h", "12h"]').replace(
        '["30min", "1h", "2h"]', '["30min", "1h"]')
    issues = issues_of(text)
    assert set(issues) == {"contacts[3].level"} and "1 ou 2" in issues["contacts[3].level"]


def test_bad_phone_number(hipcom_text: str) -> None:
    text = broken(hipcom_text, '"04 56 40 60 74"', '"04 56 40 60 7"')
    issues = issues_of(text)
    assert issues == {"contacts[2].phones[0]": "numéro de téléphone invalide « 04 56 40 60 7 »"}


def test_bad_track_phone_number(hipcom_text: str) -> None:
    text = broken(hipcom_text, 'phone = "04 26 78 04 78"', 'phone = "12"')
    assert issues_of(text) == {"tracks.production.phone": "numéro de téléphone invalide « 12 »"}


def test_missing_contact_for_a_level_and_track(hipcom_text: str) -> None:
    production_level_1 = hipcom_text[
        hipcom_text.index("[[contacts]]") : hipcom_text.index("[[contacts]]", hipcom_text.index("[[contacts]]") + 1)
    ]
    assert "Adrien Bourdon" in production_level_1
    issues = issues_of(hipcom_text.replace(production_level_1, ""))
    assert issues == {"contacts": "aucun contact de niveau 1 pour la filière « production »"}


def test_missing_level_3_contact(hipcom_text: str) -> None:
    text = broken(hipcom_text, "level = 3", "level = 2")
    with pytest.raises(PolicyError) as caught:
        policy_from_toml(text)
    assert [str(issue) for issue in caught.value.issues] == [
        "contacts : aucun contact de niveau 3 pour la filière « production »",  # the file's order of tracks
        "contacts : aucun contact de niveau 3 pour la filière « support »",
    ]


def test_every_issue_is_reported_at_once_with_its_path(hipcom_text: str) -> None:
    text = broken(hipcom_text, '["30min", "1h", "2h"]', '["30min", "2h", "1h"]')
    text = broken(text, 'email = "vincent@hipcom.fr"', 'email = "vincent-at-hipcom"')
    text = broken(text, 'timezone = "Europe/Paris"', 'timezone = "Europe/Lutece"')
    with pytest.raises(PolicyError) as caught:
        policy_from_toml(text)
    paths = [issue.path for issue in caught.value.issues]
    assert paths == [
        "organisation.timezone",
        "priorities.high.escalation_thresholds[2]",
        "contacts[2].email",
    ]
    message = str(caught.value)
    assert "organisation.timezone : fuseau horaire inconnu « Europe/Lutece »" in message
    assert "contacts[2].email : adresse e-mail invalide « vincent-at-hipcom »" in message


def test_calendar_open_no_day(hipcom_text: str) -> None:
    text = hipcom_text
    for day in ("mon", "tue", "wed", "thu", "fri"):
        text = broken(text, f'{day} = ["09:00-18:00"]', f"{day} = []")
    assert issues_of(text) == {
        "calendars.heures-ouvrees.hours": "le calendrier n'ouvre aucun jour de la semaine"
    }


def test_bad_opening_range(hipcom_text: str) -> None:
    text = broken(hipcom_text, 'wed = ["09:00-18:00"]', 'wed = ["18:00-09:00"]')
    issues = issues_of(text)
    assert list(issues) == ["calendars.heures-ouvrees.hours.wed[0]"]
    assert "plage horaire invalide" in issues["calendars.heures-ouvrees.hours.wed[0]"]


def test_unknown_holiday_country(hipcom_text: str) -> None:
    text = broken(hipcom_text, 'country = "FR"', 'country = "XX"')
    assert list(issues_of(text)) == ["calendars.heures-ouvrees.country"]


def test_bad_target_duration(hipcom_text: str) -> None:
    text = broken(hipcom_text, 'target = "48h"', 'target = "48 heures"')
    issues = issues_of(text)
    assert list(issues) == ["priorities.medium.resolution.target"]
    assert "durée invalide « 48 heures »" in issues["priorities.medium.resolution.target"]


def test_two_default_tracks(hipcom_text: str) -> None:
    text = broken(hipcom_text, 'phone = "04 26 78 04 78"', 'phone = "04 26 78 04 78"\ndefault = true')
    assert issues_of(text) == {"tracks": "une et une seule filière doit avoir default = true"}


def test_unreadable_toml() -> None:
    issues = issues_of("[organisation\nname = ")
    assert list(issues) == ["(fichier)"]
    assert issues["(fichier)"].startswith("TOML illisible")


def test_another_threshold_changes_the_policy(hipcom_text: str) -> None:
    policy = policy_from_toml(broken(hipcom_text, '["30min", "1h", "2h"]', '["45min", "1h30min", "3h"]'))
    assert policy.priorities["high"].thresholds == (45 * MIN, 90 * MIN, 3 * H)


@pytest.mark.parametrize(("original", "broken", "path"), [
    ('country = "FR"', "country = 1e400", ".country"),  # was a TypeError inside `holidays`
    ('subdivision = ""', "subdivision = [1, 2]", ".subdivision"),
    ('track = "all"', "track = {}", ".track"),  # was "unhashable type"
])
def test_values_of_the_wrong_type_are_refused_with_their_field(hipcom_text, original, broken, path):
    assert original in hipcom_text
    with pytest.raises(PolicyError) as refused:
        policy_from_toml(hipcom_text.replace(original, broken, 1))
    assert any(path in str(issue) for issue in refused.value.issues), refused.value.issues


@pytest.mark.parametrize(("entry", "path", "message"), [
    ('section = "annexes"\ntext = "x"', "interpretations[0].section", "section attendue : principle, classification"),
    ('section = "contacts"', "interpretations[0].text", "texte obligatoire"),
    ('section = "contacts"\ntext = "x"\ntranslations = { en = 3 }', "interpretations[0].translations", "table"),
])
def test_a_broken_interpretation_is_refused_with_its_path(entry: str, path: str, message: str) -> None:
    text = Path("escalade/policies/hipcom.toml").read_text().split("\n[[interpretations]]")[0]
    with pytest.raises(PolicyError) as caught:
        policy_from_toml(text + "\n[[interpretations]]\n" + entry + "\n")
    assert any(i.path == path and message in i.message for i in caught.value.issues), caught.value.issues


def test_the_validators_messages_come_in_the_readers_language() -> None:
    from escalade.core import words
    from escalade.policies.publish import language_words

    broken = Path("escalade/policies/hipcom.toml").read_text().replace('target = "30min"', 'target = "demi-heure"')
    with words.installed(*language_words("en")):
        with pytest.raises(PolicyError) as caught:
            policy_from_toml(broken)
        shown = [str(i) for i in caught.value.issues]
    assert shown == [
        "priorities.high.take_charge.target: invalid duration “demi-heure” (examples: 30min, 4h, 1h30min)"]
    with pytest.raises(PolicyError) as caught:  # the core alone (escalade policy validate): French
        policy_from_toml(broken)
    assert str(caught.value.issues[0]).endswith(" : durée invalide « demi-heure » (exemples : 30min, 4h, 1h30min)")
