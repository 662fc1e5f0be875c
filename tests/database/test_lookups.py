"""`field__any=values`: an import's 1,000 request numbers looked up as one parameter, on both
databases, finding exactly the incidents `__in` finds."""

from __future__ import annotations

import pytest
from django.db import connection

from escalade import bulk
from escalade.incidents.models import Incident

pytestmark = pytest.mark.django_db

# Text an array literal or JSON gives a meaning to, beside plain request numbers.
NUMBERS = ["REQ-1001", 'REQ-"1002"', "REQ-{1003}", "REQ-1004,5", "REQ-\\1006", "NULL", "电话-1007"]


@pytest.fixture
def incidents(world, paris_noon) -> list[Incident]:
    rows = [Incident(request_number=n, customer=world.customer_a, priority="high", track="support",
                     opened_at=paris_noon, created_at=paris_noon) for n in NUMBERS]
    bulk.insert(Incident, rows)
    return rows


@pytest.mark.parametrize("wanted", [NUMBERS, [*NUMBERS[1:4], "REQ-9999"], ["REQ-1001", "REQ-1001"], []])
def test_any_finds_what_in_finds(incidents, wanted):
    found = set(Incident.objects.filter(request_number__any=wanted).values_list("request_number", flat=True))
    assert found == set(Incident.objects.filter(request_number__in=wanted).values_list("request_number", flat=True))
    assert found == set(wanted) & set(NUMBERS)


def test_any_is_one_statement_text_and_one_parameter_whatever_the_number_of_values(incidents):
    one = Incident.objects.filter(request_number__any=["REQ-1001"]).query.sql_with_params()
    thousand = Incident.objects.filter(request_number__any=[f"REQ-{n}" for n in range(1000)]).query.sql_with_params()
    assert one[0] == thousand[0]
    assert len(one[1]) == len(thousand[1]) == 1
    assert ("ANY" if connection.vendor == "postgresql" else "json_each") in one[0]
