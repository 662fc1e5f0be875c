"""The API under two policies: each customer's incidents, priorities and procedure are its contract's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from policies.conftest import gold  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_each_customers_incident_is_created_and_evaluated_under_its_contracts_policy(api, gold, now):  # noqa: F811
    opened = (now - timedelta(minutes=20)).isoformat()
    a = api("POST", "/incidents", "staff", {"request_number": "REQ-1042", "customer": "client-a",
                                             "priority": "high", "opened_at": opened})
    b = api("POST", "/incidents", "staff", {"request_number": "INC0010001", "customer": "client-b",
                                             "priority": "p1", "opened_at": opened})
    assert a.status_code == b.status_code == 201
    assert a.body["policy"] == {"name": "hipcom", "version": 1} and b.body["policy"] == {"name": "gold", "version": 1}
    assert b.body["customer"]["policy"] == "gold"
    # 20 minutes in: HIPCOM's 30 min still run; gold's 15 min are breached by 5 min.
    assert a.body["evaluation"]["commitments"]["take_charge"]["state"] == "running"
    assert b.body["evaluation"]["commitments"]["take_charge"]["state"] == "breached"
    wrong = api("POST", "/incidents", "staff", {"request_number": "INC0010002", "customer": "client-b",
                                                 "priority": "high", "opened_at": opened})
    assert wrong.status_code == 422 and wrong.body["code"] == "unknown_priority" and "p1" in wrong.body["detail"]


def test_the_policy_endpoint_answers_the_callers_contract(api, gold):  # noqa: F811
    mine = api("GET", "/policy", "customer_b").body
    assert (mine["name"], mine["version"], mine["organisation"]) == ("gold", 1, "OPALE Services")
    assert [p["key"] for p in mine["priorities"]] == ["p1", "p2", "p3", "p4"] and mine["levels"] == [1, 2]
    default = api("GET", "/policy", "staff").body
    assert (default["name"], default["organisation"]) == ("hipcom", "HIPCOM")
