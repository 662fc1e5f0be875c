"""Zammad's trigger webhook: the recorded example of Zammad's documentation ("Webhook Payload",
admin-docs.zammad.org, its empty values left out as there, trimmed to the fields that matter), then
the same ticket through its states; signatures and malformed bodies refused with nothing applied."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from escalade.incidents.models import Channel, Incident

pytestmark = pytest.mark.django_db
SECRET = "jeton-zammad"
RECORDED = json.loads((Path(__file__).parent / "recorded" / "zammad.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def configured(settings: Any) -> None:
    settings.ESCALADE_ZAMMAD_WEBHOOK_SECRET = SECRET
    settings.ESCALADE_ZAMMAD_ORGANISATIONS = "Awesome Customer Inc.=client-a"


def send(body: Any, delivery: str = "d-1", secret: str | None = SECRET) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_X_ZAMMAD_DELIVERY": delivery, "HTTP_X_ZAMMAD_TRIGGER": "Escalade"}
    if secret is not None:
        headers["HTTP_X_HUB_SIGNATURE"] = "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
    return Client().post("/api/v1/hooks/zammad", data=raw, content_type="application/json", **headers)


def at(payload: dict[str, Any], state: str, when: datetime, priority: str = "2 normal") -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    changed["ticket"].update(state=state, updated_at=when.isoformat().replace("+00:00", "Z"),
                             priority={"id": 2, "name": priority})
    return changed


def test_the_recorded_example_opens_the_incident_taken_in_charge(world):
    answer = send(RECORDED)
    assert answer.status_code == 202 and answer.json() == {"request_number": "ZAM-10081", "applied": 2}
    incident = Incident.objects.get(request_number="ZAM-10081")
    assert (incident.customer.code, incident.priority, incident.title) == ("client-a", "medium", "Webhook-Test")
    assert incident.opened_at == datetime(2020, 11, 13, 14, 34, 35, 282000, tzinfo=UTC)
    assert incident.acknowledged_at == datetime(2020, 11, 13, 14, 34, 35, 333000, tzinfo=UTC)  # state "open"
    assert set(incident.timeline.values_list("channel", flat=True)) == {Channel.SYNC}


def test_the_same_delivery_three_times_is_applied_once(world):
    answers = [send(RECORDED, delivery="d-42") for _ in range(3)]
    assert [a.json()["applied"] for a in answers] == [2, 0, 0]
    assert Incident.objects.get(request_number="ZAM-10081").timeline.count() == 2


def test_the_ticket_through_its_states_moves_the_incident_through_its_facts(world, paris_noon):
    opened = paris_noon - timedelta(hours=2)
    new = copy.deepcopy(RECORDED)
    new["ticket"].update(state="new", owner_id=1, created_at=opened.isoformat(), updated_at=opened.isoformat())
    assert send(new, "d-1").json()["applied"] == 1
    incident = Incident.objects.get(request_number="ZAM-10081")
    assert incident.acknowledged_at is None
    steps = [("open", 10), ("pending reminder", 20), ("open", 50), ("closed", 80), ("open", 90)]
    for i, (state, minutes) in enumerate(steps, start=2):
        assert send(at(new, state, opened + timedelta(minutes=minutes)), f"d-{i}").status_code == 202
    send(at(new, "open", opened + timedelta(minutes=95), priority="3 high"), "d-9")
    incident.refresh_from_db()
    assert incident.acknowledged_at == opened + timedelta(minutes=10)
    assert [(p.start, p.end) for p in incident.pauses.all()] == [(opened + timedelta(minutes=20),
                                                                  opened + timedelta(minutes=50))]
    assert incident.resolved_at is None and len(incident.reopenings) == 1 and incident.priority == "high"
    assert list(incident.timeline.order_by("id").values_list("kind", flat=True)) == [
        "created", "acknowledged", "paused", "resumed", "resolved", "reopened", "priority_changed"]


@pytest.mark.parametrize("secret", [None, "mauvais-jeton"], ids=["unsigned", "wrong-secret"])
def test_a_bad_signature_is_401_and_applies_nothing(world, secret):
    answer = send(RECORDED, secret=secret)
    assert answer.status_code == 401 and answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "hook_unauthorized" and not Incident.objects.exists()


def _without(key: str) -> dict[str, Any]:
    body = copy.deepcopy(RECORDED)
    del body["ticket"][key]
    return body


MALFORMED = {
    "not-json": (b"{pas du json", "Corps JSON illisible"),
    "no-ticket": ({"article": RECORDED["article"]}, "l'objet « ticket »"),
    "no-state": (_without("state"), "ticket.state manque"),
    "no-number": (_without("number"), "ticket.number manque"),
    "bad-instant": ({"ticket": {**RECORDED["ticket"], "created_at": "hier"}}, "ticket.created_at : instant ISO-8601"),
    "unknown-priority": ({"ticket": {**RECORDED["ticket"], "priority": {"name": "4 urgent"}}}, "« 4 urgent »"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_body_is_a_clear_422_and_applies_nothing(world, case):
    body, message = MALFORMED[case]
    answer = send(body)
    assert answer.status_code == 422 and answer.json()["code"] == "hook_payload_invalid"
    assert message in answer.json()["detail"] and not Incident.objects.exists()


def test_an_organisation_that_is_no_customer_is_refused_like_an_unknown_customer(world):
    body = copy.deepcopy(RECORDED)
    body["ticket"]["organization"] = {"name": "Société inconnue"}
    answer = send(body)
    assert answer.status_code == 404 and answer.json()["code"] == "customer_not_found"
    assert not Incident.objects.exists()
    assert send(RECORDED, delivery="d-2").status_code == 202  # a later, right delivery goes through


def test_without_a_secret_the_zammad_hook_does_not_exist(world, settings):
    settings.ESCALADE_ZAMMAD_WEBHOOK_SECRET = ""
    assert send(RECORDED).status_code == 404
