"""iTop's webhook action with Escalade's payload template (docs/helpdesks.md): the Incident class's
attributes as iTop's placeholders write them (plain values, instants in iTop's own zone); the
incident through its statuses; the bearer token and malformed bodies refused with nothing applied."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from escalade.incidents.models import Channel, Incident

pytestmark = pytest.mark.django_db
TOKEN = "jeton-itop"
RECORDED = json.loads((Path(__file__).parent / "recorded" / "itop.json").read_text(encoding="utf-8"))
DOCS = Path(__file__).parents[2] / "docs" / "helpdesks.md"


@pytest.fixture(autouse=True)
def configured(settings: Any) -> None:
    settings.ESCALADE_ITOP_WEBHOOK_TOKEN = TOKEN
    settings.ESCALADE_ITOP_ORGANISATIONS = "Client A=client-a"


def send(body: Any, token: str | None = TOKEN) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return Client().post("/api/v1/hooks/itop", data=raw, content_type="application/json", **headers)


def itop_time(when: datetime) -> str:
    return when.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M:%S")


def test_the_documented_template_gives_the_recorded_fields():
    """The payload the docs tell an administrator to paste is the one these tests send."""
    template = json.loads(re.search(r"```json\n(\{\n  \"ref\".*?\})\n```", DOCS.read_text(), re.S).group(1))
    assert set(template) == set(RECORDED)
    assert template["ref"] == "$this->ref$" and template["status"] == "$this->status$"


def test_the_recorded_body_opens_the_incident_taken_in_charge(world):
    answer = send(RECORDED)
    assert answer.status_code == 202 and answer.json() == {"request_number": "I-000123", "applied": 2}
    incident = Incident.objects.get(request_number="I-000123")
    assert (incident.customer.code, incident.priority, incident.title) == ("client-a", "high", "Messagerie indisponible")
    assert incident.opened_at == datetime(2026, 12, 3, 8, 5, tzinfo=UTC)  # 09:05 in iTop's zone, Paris
    assert incident.acknowledged_at == datetime(2026, 12, 3, 8, 21, 30, tzinfo=UTC)
    assert set(incident.timeline.values_list("channel", flat=True)) == {Channel.SYNC}


def test_the_same_body_three_times_is_applied_once(world):
    assert [send(RECORDED).json()["applied"] for _ in range(3)] == [2, 0, 0]


def test_the_incident_through_its_statuses_moves_through_its_facts(world, paris_noon):
    opened = paris_noon - timedelta(hours=2)
    new = {**RECORDED, "status": "new", "agent_id": "0", "priority": "3", "start_date": itop_time(opened),
           "last_update": itop_time(opened)}
    assert send(new).json()["applied"] == 1
    steps = [("escalated_tto", 40), ("assigned", 45), ("pending", 50), ("assigned", 70), ("resolved", 80),
             ("assigned", 90)]
    for status, minutes in steps:
        assert send({**new, "status": status, "agent_id": "0" if status == "escalated_tto" else "14",
                     "last_update": itop_time(opened + timedelta(minutes=minutes))}).status_code == 202
    send({**new, "status": "assigned", "agent_id": "14", "priority": "1",
          "last_update": itop_time(opened + timedelta(minutes=95))})
    incident = Incident.objects.get(request_number="I-000123")
    assert incident.acknowledged_at == opened + timedelta(minutes=45)  # "escalated TTO" is not taken in charge
    assert [(p.start, p.end) for p in incident.pauses.all()] == [(opened + timedelta(minutes=50),
                                                                  opened + timedelta(minutes=70))]
    assert incident.resolved_at is None and len(incident.reopenings) == 1 and incident.priority == "high"


@pytest.mark.parametrize("token", [None, "mauvais-jeton"], ids=["no-token", "wrong-token"])
def test_a_bad_token_is_401_and_applies_nothing(world, token):
    answer = send(RECORDED, token=token)
    assert answer.status_code == 401 and answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "hook_unauthorized" and not Incident.objects.exists()


MALFORMED = {
    "not-json": (b"{pas du json", "Corps JSON illisible"),
    "a-list": ([RECORDED], "modèle de charge utile iTop"),
    "no-ref": ({k: v for k, v in RECORDED.items() if k != "ref"}, "ref manque"),
    "unknown-status": ({**RECORDED, "status": "Assigné"}, "status « Assigné »"),  # a localised label: $this->label(…)$
    "bad-instant": ({**RECORDED, "start_date": "03/12/2026 09:05"}, "start_date : instant"),
    "unknown-priority": ({**RECORDED, "priority": "5"}, "priority « 5 »"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_body_is_a_clear_422_and_applies_nothing(world, case):
    body, message = MALFORMED[case]
    answer = send(body)
    assert answer.status_code == 422 and answer.json()["code"] == "hook_payload_invalid"
    assert message in answer.json()["detail"] and not Incident.objects.exists()


def test_an_organisation_that_is_no_customer_is_refused_like_an_unknown_customer(world):
    answer = send({**RECORDED, "org_name": "Société inconnue"})
    assert answer.status_code == 404 and answer.json()["code"] == "customer_not_found"
    assert not Incident.objects.exists()


def test_without_a_token_the_itop_hook_does_not_exist(world, settings):
    settings.ESCALADE_ITOP_WEBHOOK_TOKEN = ""
    assert send(RECORDED).status_code == 404


def test_an_unknown_itop_time_zone_stops_the_start(settings):
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    settings.ESCALADE_ITOP_TIMEZONE = "Europe/Lyon"
    with pytest.raises(ImproperlyConfigured, match="ESCALADE_ITOP_TIMEZONE"):
        apps.get_app_config("ops").ready()
