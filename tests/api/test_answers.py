"""The hot read paths' answers: checked against their schema, written by pydantic, the same JSON as
django-ninja's own writing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from ninja.responses import NinjaJSONEncoder
from pydantic import ValidationError

from escalade.api.answers import answer
from escalade.api.schemas import EscalationDetailOut, IncidentDetailOut, IncidentPage

pytestmark = pytest.mark.django_db


def _as_ninja_writes(schema, data):
    """What django-ninja answered for `data` with `schema` as the operation's response."""
    return json.loads(json.dumps(schema.model_validate(data).model_dump(), cls=NinjaJSONEncoder))


def test_the_list_the_detail_and_an_escalation_answer_what_ninja_wrote(api, make_incident, now):
    make_incident("REQ-1001", ago=timedelta(hours=3), title="Coupure fibre — Lyon « 3 » ✓")
    make_incident("REQ-1002", ago=timedelta(minutes=20), acknowledged_at=(now - timedelta(minutes=5)).isoformat())
    assert api("POST", "/incidents/REQ-1001/events", body={"kind": "pause", "note": "attente"}).status_code == 200
    escalated = api("POST", "/escalations", body={"request_number": "REQ-1001", "reason": "Toujours coupé, « urgent »."})
    assert escalated.status_code == 201 and escalated["Content-Type"] == "application/json; charset=utf-8"
    assert escalated.body == _as_ninja_writes(EscalationDetailOut, escalated.body)
    assert api("POST", "/escalations", body={"request_number": "REQ-1001", "reason": "x"}).status_code == 200
    page = api("GET", "/incidents")
    detail = api("GET", "/incidents/REQ-1001")
    assert page.status_code == detail.status_code == 200
    assert page.body == _as_ninja_writes(IncidentPage, page.body) and len(page.body["items"]) == 2
    assert detail.body == _as_ninja_writes(IncidentDetailOut, detail.body)
    assert detail.body["title"] == "Coupure fibre — Lyon « 3 » ✓" and detail.body["pauses"]
    assert detail.body["escalations"][0]["reason"] == "Toujours coupé, « urgent »."


def test_an_answer_that_does_not_fit_its_schema_is_refused():
    with pytest.raises(ValidationError):
        answer(IncidentPage, {"count": 1, "count_exact": True, "page": 1, "page_size": 50, "items": [{"title": 3}]})


def test_an_answer_keeps_only_the_schema_s_fields_as_ninja_did():
    body = json.loads(answer(IncidentPage, {"count": 0, "count_exact": True, "page": 1, "page_size": 50,
                                            "items": [], "secret": "x"}).content)
    assert body == {"count": 0, "count_exact": True, "page": 1, "page_size": 50, "items": []}
