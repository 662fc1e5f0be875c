"""Every error is application/problem+json with a French detail and a stable code; never a 500."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from web.support import log_in

pytestmark = pytest.mark.django_db


def test_anonymous_gets_a_401_problem(api):
    response = api("GET", "/incidents", "anonymous")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.body) >= {"type", "title", "status", "detail", "code"}
    assert response.body["code"] == "authentication_required"
    assert response.body["type"] == "urn:escalade:problem:authentication_required"


def test_a_wrong_token_is_refused(api):
    response = api("GET", "/incidents", "anonymous", HTTP_AUTHORIZATION="Bearer esc_faux")
    assert response.status_code == 401
    assert response.body["code"] == "invalid_token"


def test_a_revoked_token_is_refused(api, world, now):
    from escalade.accounts.models import ApiToken

    token, raw = ApiToken.issue(world.users["staff"])
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=now)
    response = api("GET", "/incidents", "anonymous", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401


def test_unknown_path_under_the_api_is_a_problem_404(api):
    response = api("GET", "/nothing/here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.body["code"] == "not_found"


def test_non_numeric_escalation_id_is_a_404(api):
    assert api("GET", "/escalations/abc").status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_escalation_id_too_large_for_the_database_is_a_404(api, method):
    path = "/escalations/99999999999999999999999" + ("/ack" if method == "POST" else "")
    response = api(method, path)
    assert response.status_code == 404
    assert response.body["code"] == "escalation_not_found"


def test_long_labels_do_not_overflow_their_columns(api, make_incident, world):
    user = world.users["staff"]
    user.first_name, user.last_name = "A" * 150, "B" * 150
    user.save()
    make_incident("REQ-1001", ago=timedelta(hours=1))
    response = api("POST", "/escalations", "staff", {"request_number": "REQ-1001", "reason": "x",
                                                      "on_behalf_of": "C" * 200, "channel": "phone"})
    assert response.status_code == 201
    assert len(response.body["requester"]) == 200


def test_a_title_longer_than_its_column_is_a_422(api):
    response = api("POST", "/incidents", "staff", {"request_number": "REQ-5", "customer": "client-a",
                                                   "priority": "high", "opened_at": "2026-11-27T10:00:00+01:00",
                                                   "title": "T" * 301})
    assert response.status_code == 422


def test_unreadable_json_is_a_problem(api):
    response = api("POST", "/escalations", "staff", "{not json")
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"
    assert response.body["detail"]


def test_missing_body_fields_are_listed_in_french(api):
    response = api("POST", "/incidents", "staff", {"request_number": "REQ-1"})
    assert response.status_code == 422
    assert response.body["code"] == "invalid_body"
    assert "« customer » est obligatoire" in response.body["detail"]
    assert "« priority » est obligatoire" in response.body["detail"]
    assert {e["field"] for e in response.body["errors"]} == {"customer", "priority"}


def test_bad_query_parameters_are_a_422(api):
    response = api("GET", "/incidents?page=0&status=bogus")
    assert response.status_code == 422
    assert response.body["code"] == "invalid_parameters"


def test_wrong_method_is_a_problem(api):
    response = api("DELETE", "/policy")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.body["code"] == "method_not_allowed"


GARBAGE = [
    "[]", "null", "42", '"text"', "{}", '{"request_number": null}', '{"request_number": []}',
    '{"request_number": "REQ-1001", "reason": "x", "level": 1e309}',
    '{"request_number": "' + "A" * 5000 + '", "reason": "x"}',
    '{"request_number": "REQ-1001", "reason": "x", "channel": "pigeon"}',
    '{"request_number": "REQ-1001\\u0000", "reason": "x"}',
]


@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_escalation_bodies_never_cause_a_500(api, make_incident, body):
    make_incident("REQ-1001", ago=timedelta(hours=1))
    response = api("POST", "/escalations", "customer_a", body)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/problem+json"


INCIDENT_GARBAGE = [
    {"request_number": "REQ-5", "customer": "client-a", "priority": "urgent", "opened_at": "2026-11-27T10:00:00+01:00"},
    {"request_number": "REQ-5", "customer": "client-a", "priority": "high", "opened_at": "2026-11-27T10:00:00"},
    {"request_number": "REQ-5", "customer": "client-a", "priority": "high", "opened_at": "hier"},
    {"request_number": "REQ-5", "customer": "client-a", "priority": "high"},
    {"request_number": "pas un numéro", "customer": "client-a", "priority": "high", "opened_at": "2026-11-27T10:00:00+01:00"},
    {"request_number": "REQ-5", "customer": "client-a", "priority": "high", "opened_at": "2027-01-01T10:00:00+01:00"},
    {"request_number": "REQ-5", "customer": "client-a", "priority": "high", "track": "ailleurs", "opened_at": "2026-11-27T10:00:00+01:00"},
    {"request_number": "REQ-5", "customer": "client-a", "priority": "high", "opened_at": "2026-11-27T10:00:00+01:00",
     "acknowledged_at": "2026-11-27T09:00:00+01:00"},
    {"customer": "client-a", "priority": "high", "opened_at": "2026-11-27T10:00:00+01:00"},
    {"request_number": "REQ-5", "customer": "client-a", "priority": "high", "opened_at": "99999-01-01T00:00:00+01:00"},
]


@pytest.mark.parametrize("body", INCIDENT_GARBAGE)
def test_invalid_incidents_are_422_with_a_code(api, body):
    response = api("POST", "/incidents", "staff", body)
    assert response.status_code == 422, response.body
    assert response["Content-Type"] == "application/problem+json"
    assert response.body["code"]
    assert response.body["detail"]


@pytest.mark.parametrize("body", [{"kind": "teleport"}, {"kind": "change_priority", "priority": "urgent"},
                                  {"kind": "acknowledge", "at": "2026-11-27T10:00:00"},
                                  {"kind": "acknowledge", "at": "2030-01-01T10:00:00+01:00"},
                                  {"kind": "acknowledge", "at": "2020-01-01T10:00:00+01:00"},
                                  {"kind": 3}, {}])
def test_invalid_events_are_refused_with_a_code(api, make_incident, body):
    make_incident("REQ-1001")
    response = api("POST", "/incidents/REQ-1001/events", "staff", body)
    assert response.status_code == 422, response.body
    assert response.body["code"]


def test_session_writes_need_the_csrf_token(world, make_incident, now):
    make_incident("REQ-1001", ago=timedelta(hours=1))
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["customer_a"])
    body = json.dumps({"request_number": "REQ-1001", "reason": "coupure"})
    assert client.get("/api/v1/incidents/REQ-1001").status_code == 200
    refused = client.post("/api/v1/escalations", body, content_type="application/json")
    assert refused.status_code == 403
    assert json.loads(refused.content)["code"] == "csrf_failed"
    client.get("/api/v1/policy")  # any page that sets the cookie is fine; set it explicitly:
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    granted = client.post("/api/v1/escalations", body, content_type="application/json",
                          HTTP_X_CSRFTOKEN=token)
    assert granted.status_code == 201


def test_anonymous_session_write_is_401_not_a_csrf_403(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/escalations", "{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/incidents/REQ-1%00", "/incidents?customer=a%00b",
                                  "/escalations?request_number=R%00"])
def test_nul_characters_in_the_address_are_not_a_500(api, path):
    assert api("GET", path).status_code in (404, 422, 200)


def test_openapi_document_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    doc = schema.json()
    assert set(doc["paths"]) == {
        "/api/v1/incidents", "/api/v1/incidents/{request_number}",
        "/api/v1/incidents/{request_number}/timeline", "/api/v1/incidents/{request_number}/record",
        "/api/v1/incidents/{request_number}/events",
        "/api/v1/escalations", "/api/v1/escalations/{escalation_id}",
        "/api/v1/escalations/{escalation_id}/ack", "/api/v1/policy", "/api/v1/hooks/rt", "/api/v1/hooks/zammad",
        "/api/v1/hooks/jira", "/api/v1/hooks/glpi", "/api/v1/hooks/itop",
    }
    assert doc["paths"]["/api/v1/escalations"]["post"]["summary"] == "Demander une escalade"
    assert client.get("/api/v1/docs").status_code == 200


# -- errors that are answers (issue: a 10 MB body, any method on an unknown path, a read-only database)


def test_a_body_over_the_limit_is_a_413_problem(api):
    body = json.dumps({"request_number": "REQ-1", "reason": "x" * (10 * 1024 * 1024)})
    response = api("POST", "/escalations", body=body)
    assert response.status_code == 413 and response["Content-Type"] == "application/problem+json"
    assert response.body["code"] == "request_too_large" and "Kio" in response.body["detail"]


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_any_method_on_an_unknown_api_path_is_a_problem_404_even_with_csrf_checks(world, method):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert log_in(client, "staff", "pw-s-12345")
    response = getattr(client, method)("/api/v1/inconnu/chemin")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_a_read_only_database_still_answers_reads_and_writes_get_a_503(api, make_incident):
    """Token authentication writes last_used_at at most once a minute, so reads need no write; a
    refused write is a 503 with Retry-After, and nothing half-written."""
    from django.db import connection

    from escalade.escalations.models import EscalationRequest

    if connection.vendor != "sqlite":
        pytest.skip("read-only switch shown on SQLite (PRAGMA query_only); the PostgreSQL outage test covers it")
    make_incident("REQ-1042", ago=timedelta(minutes=95))
    assert api("GET", "/incidents/REQ-1042").status_code == 200  # records the token's use
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA query_only = ON")
    try:
        assert api("GET", "/incidents/REQ-1042").status_code == 200
        response = api("POST", "/escalations", body={"request_number": "REQ-1042", "reason": "Coupure"})
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = OFF")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response["Content-Type"] == "application/problem+json" and response.body["code"] == "service_unavailable"
    assert EscalationRequest.objects.count() == 0


def test_a_full_disk_answers_503_writes_nothing_and_leaves_the_database_intact(api, make_incident):
    from django.db import connection

    from escalade.incidents.models import Incident, TimelineEvent

    if connection.vendor != "sqlite":
        pytest.skip("a full disk shown on SQLite (PRAGMA max_page_count); PostgreSQL's outage test stops the server")
    make_incident("REQ-1042", ago=timedelta(minutes=95))
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_count")
        (pages,) = cursor.fetchone()
        cursor.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: the disk is full
    try:
        for i in range(2000):
            before = (Incident.objects.count(), TimelineEvent.objects.count())
            response = api("POST", "/incidents", body={
                "request_number": f"REQ-{2000 + i}", "customer": "client-a", "priority": "high",
                "title": "x" * 300, "opened_at": "2026-11-27T11:00:00+01:00"})
            if response.status_code != 201:
                break
        after = (Incident.objects.count(), TimelineEvent.objects.count())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA max_page_count = 1073741823")
    assert response.status_code == 503 and response["Retry-After"] == "30", response.body
    assert response.body["code"] == "service_unavailable"
    assert after == before  # nothing of the refused write
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        assert cursor.fetchone() == ("ok",)
    assert api("POST", "/incidents", body={"request_number": "REQ-9999", "customer": "client-a",
                                            "priority": "high", "opened_at": "2026-11-27T11:00:00+01:00"}
               ).status_code == 201


def test_a_token_records_its_use_at_most_once_a_minute(api, world, tokens, now):
    from escalade.accounts.models import ApiToken

    token = ApiToken.objects.get(user=world.users["staff"])
    api("GET", "/policy")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    api("GET", "/policy")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


@pytest.mark.parametrize(("path", "body", "field", "limit"), [
    ("/escalations", {"request_number": "REQ-1042", "reason": "x" * 5001}, "reason", 5000),
    ("/escalations", {"request_number": "REQ-1042", "reason": "coupure", "on_behalf_of": "x" * 201},
     "on_behalf_of", 200),
    ("/incidents", {"request_number": "REQ-1043", "customer": "client-a", "priority": "high",
                    "opened_at": "2026-11-27T11:00:00+01:00", "title": "x" * 301}, "title", 300),
    ("/incidents/REQ-1042/events", {"kind": "acknowledge", "note": "x" * 2001}, "note", 2000),
])
def test_text_fields_are_bounded_and_say_their_limit(api, make_incident, path, body, field, limit):
    from escalade.incidents.models import TimelineEvent

    make_incident("REQ-1042", ago=timedelta(minutes=95))
    before = TimelineEvent.objects.count()
    response = api("POST", path, body=body)
    assert response.status_code == 422 and response.body["code"] == "invalid_body"
    assert f"« {field} » est trop long ({limit} caractères au plus)" in response.body["detail"]
    assert TimelineEvent.objects.count() == before


def test_the_portal_bounds_the_reason_too(world, make_incident):
    from django.test import Client
    from web.support import log_in

    make_incident("REQ-1042", ago=timedelta(minutes=95))
    client = Client()
    assert log_in(client, "cust-a", "pw-a-12345")
    page = client.post("/portail/incidents/REQ-1042/escalader/", {"reason": "x" * 2001, "level": "1"})
    assert page.status_code == 400
    assert "2000" in page.content.decode()
