"""The feed's fast filters write what Django's `date` filter and `get_channel_display` write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import engines
from django.utils import timezone, translation

from escalade.escalations.models import Escalation
from escalade.incidents.models import Channel

# Around both of Paris's 2026 clock changes, midnight, the new year, and a non-UTC offset given in.
INSTANTS = [
    *(datetime(2026, 3, 29, 0, 30, tzinfo=UTC) + timedelta(minutes=20 * i) for i in range(9)),
    *(datetime(2026, 10, 25, 0, 0, tzinfo=UTC) + timedelta(minutes=20 * i) for i in range(9)),
    datetime(2026, 12, 31, 23, 0, 1, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Paris")),
]


def _render(source: str, **context: object) -> str:
    return engines["django"].from_string("{% load escalade_web %}" + source).render(context)


@pytest.mark.parametrize("zone", ["Europe/Paris", "UTC", "America/Cayenne"])
def test_day_time_and_day_month_time_write_djangos_date_formats_in_the_active_zone(zone):
    with timezone.override(ZoneInfo(zone)):
        for value in [*INSTANTS, None]:
            assert _render("{{ v|day_time }}", v=value) == _render('{{ v|date:"d/m/Y H:i" }}', v=value), value
            assert _render("{{ v|day_month_time }}", v=value) == _render('{{ v|date:"d/m H:i" }}', v=value), value
            assert (_render('{{ v|day_month_time|default:"—" }}', v=value)
                    == _render('{{ v|date:"d/m H:i"|default:"—" }}', v=value))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_channel_label_is_the_models_display_in_the_active_language(language):
    with translation.override(language):
        for value in [*Channel.values, "inconnu"]:
            escalation = Escalation(channel=value)
            assert _render("{{ e.channel|channel_label }}", e=escalation) == _render("{{ e.get_channel_display }}",
                                                                                     e=escalation)
    with translation.override("en"):  # each language its own labels, whichever was asked first
        assert _render("{{ c|channel_label }}", c="phone") == "phone"
    with translation.override("fr"):
        assert _render("{{ c|channel_label }}", c="phone") == "téléphone"
