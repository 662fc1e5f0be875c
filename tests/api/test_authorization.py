"""Every endpoint × every role: out of scope is a 404 exactly like an unknown number, and nobody
changes what their role does not own.

World: incident REQ-1001 of customer A (managed by partner P), REQ-2001 of customer B (no partner);
both high priority, opened one hour ago, so level 1 is open; each has a level-1 escalation.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

ACTORS = ("anonymous", "customer_a", "customer_b", "partner_a", "partner_none", "staff", "admin")

pytestmark = pytest.mark.django_db

# What each actor gets on customer A's incident and on its escalation.
SEES_A = {"anonymous": 401, "customer_a": 200, "customer_b": 404, "partner_a": 200,
          "partner_none": 404, "staff": 200, "admin": 200}
EVERYONE = {a: 200 for a in ACTORS} | {"anonymous": 401}


def expect(base, **changes):
    return {**base, **changes}


# name: (method, path, body, expected status per actor)
ENDPOINTS = {
    "list incidents": ("GET", "/incidents", None, EVERYONE),
    # The helpdesks' webhooks answer their own secrets, not the API's roles: not configured here.
    "RT webhook (not configured)": ("POST", "/hooks/rt", {"ticket": 1}, {a: 404 for a in ACTORS}),
    "Zammad webhook (not configured)": ("POST", "/hooks/zammad", {"ticket": {}}, {a: 404 for a in ACTORS}),
    "Jira webhook (not configured)": ("POST", "/hooks/jira", {"issue": {}}, {a: 404 for a in ACTORS}),
    "GLPI webhook (not configured)": ("POST", "/hooks/glpi", {"item": {}}, {a: 404 for a in ACTORS}),
    "iTop webhook (not configured)": ("POST", "/hooks/itop", {"ref": ""}, {a: 404 for a in ACTORS}),
    "incident detail": ("GET", "/incidents/REQ-1001", None, SEES_A),
    "incident timeline": ("GET", "/incidents/REQ-1001/timeline", None, SEES_A),
    "incident record": ("GET", "/incidents/REQ-1001/record", None, SEES_A),
    "archive A (not resolved)": ("POST", "/incidents/REQ-1001/events", {"kind": "archive"},
                                 expect(SEES_A, customer_a=403, partner_a=403, staff=409, admin=409)),
    "create incident for A": (
        "POST", "/incidents",
        {"request_number": "REQ-3001", "customer": "client-a", "priority": "high",
         "opened_at": "2026-11-27T11:50:00+01:00"},
        # Customers and partners do not choose numbers: an unknown one is unknown.
        expect(SEES_A, customer_a=404, partner_a=404, staff=201, admin=201),
    ),
    "declare incident for A (numbered by Escalade)": (
        "POST", "/incidents",
        {"customer": "client-a", "priority": "high", "opened_at": "2026-11-27T11:50:00+01:00"},
        expect(SEES_A, customer_a=201, partner_a=201, staff=422, admin=422),
    ),
    "update incident A (priority)": (
        "POST", "/incidents",
        {"request_number": "REQ-1001", "customer": "client-a", "priority": "medium",
         "opened_at": "2026-11-27T11:00:00+01:00"},
        expect(SEES_A, customer_a=403, partner_a=403),
    ),
    "acknowledge A": ("POST", "/incidents/REQ-1001/events", {"kind": "acknowledge"},
                      expect(SEES_A, customer_a=403, partner_a=403)),
    "resolve A": ("POST", "/incidents/REQ-1001/events", {"kind": "resolve"},
                  expect(SEES_A, customer_a=403, partner_a=403)),
    "pause A": ("POST", "/incidents/REQ-1001/events", {"kind": "pause"},
                expect(SEES_A, customer_a=403, partner_a=403)),
    "change priority of A": ("POST", "/incidents/REQ-1001/events",
                             {"kind": "change_priority", "priority": "medium"},
                             expect(SEES_A, customer_a=403, partner_a=403)),
    "resume A (not paused)": ("POST", "/incidents/REQ-1001/events", {"kind": "resume"},
                              expect(SEES_A, customer_a=409, partner_a=409, staff=409, admin=409)),
    "escalate A": ("POST", "/escalations", {"request_number": "REQ-1001", "reason": "coupure"},
                   SEES_A),
    "list escalations": ("GET", "/escalations", None, EVERYONE),
    "escalation of A": ("GET", "/escalations/{esc_a}", None, SEES_A),
    "acknowledge escalation of A": ("POST", "/escalations/{esc_a}/ack", None,
                                    expect(SEES_A, customer_a=403, partner_a=403)),
    "policy": ("GET", "/policy", None, EVERYONE),
}


@pytest.fixture
def scene(make_incident):
    from escalade.escalations.services import request_escalation

    for number, customer in (("REQ-1001", "client-a"), ("REQ-2001", "client-b")):
        make_incident(number, customer=customer, ago=timedelta(hours=1))
    from escalade.api import clock

    ids = {}
    for key, number in (("esc_a", "REQ-1001"), ("esc_b", "REQ-2001")):
        outcome = request_escalation(user=None, request_number=number, reason="auto", now=clock.now())
        ids[key] = outcome.escalation.pk
    return ids


CASES = [(name, actor) for name in ENDPOINTS for actor in ACTORS]


@pytest.mark.parametrize(("endpoint", "actor"), CASES, ids=[f"{n} / {a}" for n, a in CASES])
def test_authorization_matrix(api, scene, endpoint, actor):
    method, path, body, expected = ENDPOINTS[endpoint]
    response = api(method, path.format(**scene), actor, body)
    assert response.status_code == expected[actor], response.body
    assert response["Content-Type"].startswith(
        "application/problem+json" if response.status_code >= 400 else "application/json"
    )
    if response.status_code == 401:
        assert response.body["code"] == "authentication_required"
    if response.status_code == 403:
        assert response.body["code"] in ("reserved_to_staff", "event_reserved_to_staff",
                                         "acknowledge_requires_staff")


VISIBLE = {"customer_a": {"REQ-1001"}, "customer_b": {"REQ-2001"}, "partner_a": {"REQ-1001"},
           "partner_none": set(), "staff": {"REQ-1001", "REQ-2001"}, "admin": {"REQ-1001", "REQ-2001"}}


@pytest.mark.parametrize("actor", VISIBLE)
def test_lists_show_exactly_the_actor_scope(api, scene, actor):
    incidents = api("GET", "/incidents", actor).body
    assert {i["request_number"] for i in incidents["items"]} == VISIBLE[actor]
    assert incidents["count"] == len(VISIBLE[actor])
    escalations = api("GET", "/escalations", actor).body
    assert {e["request_number"] for e in escalations["items"]} == VISIBLE[actor]


def _same_apart_from(body, number, placeholder="N"):
    return {k: (v.replace(number, placeholder) if isinstance(v, str) else v) for k, v in body.items()}


@pytest.mark.parametrize("path", ["/incidents/{n}", "/incidents/{n}/timeline"])
def test_out_of_scope_incident_looks_exactly_like_an_unknown_one(api, scene, path):
    hidden = api("GET", path.format(n="REQ-2001"), "customer_a")
    unknown = api("GET", path.format(n="REQ-9999"), "customer_a")
    assert hidden.status_code == unknown.status_code == 404
    assert _same_apart_from(hidden.body, "REQ-2001") == _same_apart_from(unknown.body, "REQ-9999")


def test_out_of_scope_escalation_request_looks_like_an_unknown_number(api, scene):
    body = {"reason": "coupure"}
    hidden = api("POST", "/escalations", "partner_a", {**body, "request_number": "REQ-2001"})
    unknown = api("POST", "/escalations", "partner_a", {**body, "request_number": "REQ-9999"})
    assert hidden.status_code == unknown.status_code == 404
    assert _same_apart_from(hidden.body, "REQ-2001") == _same_apart_from(unknown.body, "REQ-9999")


def test_out_of_scope_event_looks_like_an_unknown_number(api, scene):
    hidden = api("POST", "/incidents/REQ-2001/events", "customer_a", {"kind": "reopen"})
    unknown = api("POST", "/incidents/REQ-9999/events", "customer_a", {"kind": "reopen"})
    assert hidden.status_code == unknown.status_code == 404
    assert _same_apart_from(hidden.body, "REQ-2001") == _same_apart_from(unknown.body, "REQ-9999")


def test_out_of_scope_escalation_looks_like_an_unknown_id(api, scene):
    for path in ("/escalations/{}", "/escalations/{}/ack"):
        method = "GET" if path.endswith("}") else "POST"
        hidden = api(method, path.format(scene["esc_b"]), "customer_a")
        unknown = api(method, path.format(999999), "customer_a")
        assert hidden.status_code == unknown.status_code == 404
        digits = re.compile(r"\d+")
        assert digits.sub("N", hidden.body["detail"]) == digits.sub("N", unknown.body["detail"])
        assert hidden.body["code"] == unknown.body["code"] == "escalation_not_found"


def test_a_customer_cannot_declare_for_another_customer(api, scene):
    body = {"customer": "client-b", "priority": "high", "opened_at": "2026-11-27T11:50:00+01:00"}
    hidden = api("POST", "/incidents", "customer_a", body)
    unknown = api("POST", "/incidents", "customer_a", {**body, "customer": "client-z"})
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.body["code"] == unknown.body["code"] == "customer_not_found"


def test_refused_writes_change_nothing(api, scene):
    from escalade.incidents.models import Incident

    before = Incident.objects.values().get(request_number="REQ-1001")
    api("POST", "/incidents/REQ-1001/events", "customer_a", {"kind": "resolve"})
    api("POST", "/incidents/REQ-1001/events", "customer_b", {"kind": "resolve"})
    api("POST", "/escalations/{}/ack".format(scene["esc_a"]), "partner_a")
    after = Incident.objects.values().get(request_number="REQ-1001")
    assert before == after


def test_every_operation_of_the_api_has_its_row():
    from escalade.api.api import api

    document = api.get_openapi_schema()
    operations = {(method.upper(), path.removeprefix("/api/v1")) for path, methods in document["paths"].items()
                  for method in methods}
    covered = {(method, re.sub(r"\{esc_a\}", "{escalation_id}", re.sub(r"REQ-\d+", "{request_number}", path)))
               for method, path, _, _ in ENDPOINTS.values()}
    assert operations == covered
