"""The one place for words: durations in the procedure's unit, phone numbers, the auto-escalation reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from escalade.core.messages import auto_escalation_reason, format_duration, national_phone

MIN, H = timedelta(minutes=1), timedelta(hours=1)


def test_durations_are_written_in_the_procedures_unit() -> None:
    """"Si délai dépassé d'au moins 30 mn": one format everywhere (pages, e-mails, answers)."""
    assert format_duration(30 * MIN) == "30 mn"
    assert format_duration(4 * H) == "4 h"
    assert format_duration(90 * MIN) == "1 h 30"
    assert format_duration(96 * H) == "96 h"
    assert format_duration(timedelta(seconds=59)) == "0 mn"


def test_phone_numbers_are_national_at_home_and_international_abroad() -> None:
    assert national_phone("+33426780478", "FR") == "04 26 78 04 78"
    assert national_phone("+41223456789", "FR").startswith("+41")


def test_the_auto_escalation_reason_names_the_commitment_the_level_and_when() -> None:
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert auto_escalation_reason("take_charge", 2, at, ZoneInfo("Europe/Paris")) == (
        "Escalade automatique : le délai de prise en charge est dépassé, "
        "le niveau 2 est ouvert depuis le 27/11/2026 à 11:00."
    )
