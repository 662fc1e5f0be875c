"""GLPI 11's ticket webhook: a body of the default payload's shape (`{"item", "event"}`, the item as
the high-level API shows a ticket: ITILController's schema, RFC 3339 instants) signed as
`src/Webhook.php` signs it (X-GLPI-signature: HMAC-SHA256 of the body followed by
X-GLPI-timestamp); the ticket through its statuses; signatures and malformed bodies refused with
nothing applied."""

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
SECRET = "secret-glpi-de-40-caracteres-0123456789ab"
RECORDED = json.loads((Path(__file__).parent / "recorded" / "glpi.json").read_text(encoding="utf-8"))
STATUS_NAMES = {1: "New", 2: "Processing (assigned)", 3: "Processing (planned)", 4: "Pending", 5: "Solved",
                6: "Closed"}


@pytest.fixture(autouse=True)
def configured(settings: Any) -> None:
    settings.ESCALADE_GLPI_WEBHOOK_SECRET = SECRET
    settings.ESCALADE_GLPI_ENTITIES = "Client A=client-a"


def send(body: Any, timestamp: str = "1764749860", secret: str | None = SECRET) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, indent=4).encode()
    headers = {"HTTP_X_GLPI_TIMESTAMP": timestamp}
    if secret is not None:
        headers["HTTP_X_GLPI_SIGNATURE"] = hmac.new(secret.encode(), raw + timestamp.encode(), hashlib.sha256).hexdigest()
    return Client().post("/api/v1/hooks/glpi", data=raw, content_type="application/json", **headers)


def at(payload: dict[str, Any], status: int, when: datetime, priority: int = 3) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    changed["item"].update(status={"id": status, "name": STATUS_NAMES[status]}, date_mod=when.isoformat(),
                           priority=priority)
    return changed


def test_the_recorded_body_opens_the_incident_taken_in_charge(world):
    answer = send(RECORDED)
    assert answer.status_code == 202 and answer.json() == {"request_number": "1042", "applied": 2}
    incident = Incident.objects.get(request_number="1042")  # GLPI's ticket id: digits, as the customer sees it
    assert (incident.customer.code, incident.priority, incident.title) == (
        "client-a", "high", "Coupure du lien fibre du site de Lyon")
    assert incident.opened_at == datetime(2026, 12, 3, 8, 2, 11, tzinfo=UTC)
    assert incident.acknowledged_at == datetime(2026, 12, 3, 8, 17, 40, tzinfo=UTC)  # "assigned"
    assert set(incident.timeline.values_list("channel", flat=True)) == {Channel.SYNC}


def test_a_delivery_glpi_retries_three_times_is_applied_once(world):
    answers = [send(RECORDED, timestamp="1764749900") for _ in range(3)]  # GLPI's queue resends body and headers
    assert [a.json()["applied"] for a in answers] == [2, 0, 0]
    assert Incident.objects.get(request_number="1042").timeline.count() == 2


def test_the_ticket_through_its_statuses_moves_the_incident_through_its_facts(world, paris_noon):
    opened = paris_noon - timedelta(hours=2)
    new = copy.deepcopy(RECORDED)
    new["item"].update(status={"id": 1, "name": "New"}, team=[], date=opened.isoformat(),
                       date_mod=opened.isoformat(), priority=3)
    assert send(new, "t-1").json()["applied"] == 1
    incident = Incident.objects.get(request_number="1042")
    assert incident.acknowledged_at is None and incident.priority == "medium"
    steps = [(2, 10), (4, 20), (2, 50), (5, 80), (2, 90)]  # assigned, pending, assigned, solved, reopened
    for i, (status, minutes) in enumerate(steps, start=2):
        assert send(at(new, status, opened + timedelta(minutes=minutes)), f"t-{i}").status_code == 202
    send(at(new, 2, opened + timedelta(minutes=95), priority=5), "t-9")
    incident.refresh_from_db()
    assert incident.acknowledged_at == opened + timedelta(minutes=10)
    assert [(p.start, p.end) for p in incident.pauses.all()] == [(opened + timedelta(minutes=20),
                                                                  opened + timedelta(minutes=50))]
    assert incident.resolved_at is None and len(incident.reopenings) == 1 and incident.priority == "high"
    assert list(incident.timeline.order_by("id").values_list("kind", flat=True)) == [
        "created", "acknowledged", "paused", "resumed", "resolved", "reopened", "priority_changed"]


def test_an_assigned_technician_takes_a_new_ticket_in_charge(world):
    body = copy.deepcopy(RECORDED)
    body["item"]["status"] = {"id": 1, "name": "New"}  # still "new", but a technician is assigned
    assert send(body).json()["applied"] == 2
    assert Incident.objects.get(request_number="1042").acknowledged_at is not None


def test_a_deleted_ticket_changes_nothing(world):
    answer = send({**RECORDED, "event": "delete"})
    assert answer.status_code == 202 and answer.json() == {"request_number": "", "applied": 0}
    assert not Incident.objects.exists()


@pytest.mark.parametrize("case", ["unsigned", "wrong-secret", "other-timestamp", "no-timestamp"])
def test_a_bad_signature_is_401_and_applies_nothing(world, case):
    raw = json.dumps(RECORDED).encode()
    signature = hmac.new(SECRET.encode(), raw + b"1764749860", hashlib.sha256).hexdigest()
    headers = {
        "unsigned": {"HTTP_X_GLPI_TIMESTAMP": "1764749860"},
        "wrong-secret": {"HTTP_X_GLPI_TIMESTAMP": "1764749860",
                         "HTTP_X_GLPI_SIGNATURE": hmac.new(b"autre", raw + b"1764749860", hashlib.sha256).hexdigest()},
        "other-timestamp": {"HTTP_X_GLPI_TIMESTAMP": "1764749861", "HTTP_X_GLPI_SIGNATURE": signature},
        "no-timestamp": {"HTTP_X_GLPI_SIGNATURE": signature},
    }[case]
    answer = Client().post("/api/v1/hooks/glpi", data=raw, content_type="application/json", **headers)
    assert answer.status_code == 401 and answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "hook_unauthorized" and "X-GLPI-signature" in answer.json()["detail"]
    assert not Incident.objects.exists()


def _item(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(RECORDED)
    for key, value in changes.items():
        if value is None:
            del body["item"][key]
        else:
            body["item"][key] = value
    return body


MALFORMED = {
    "not-json": (b"{pas du json", "Corps JSON illisible"),
    "no-item": ({"event": "update"}, "l'objet « item »"),
    "no-status": (_item(status=None), "item.status manque"),
    "unknown-status": (_item(status={"id": 9, "name": "?"}), "item.status.id « 9 »"),
    "naive-instant": (_item(date="2026-12-03 09:02:11"), "item.date : l'instant n'indique pas de décalage"),
    "unknown-priority": (_item(priority=7), "item.priority « 7 »"),
    "no-entity": (_item(entity={"id": 2}), "item.entity.name"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_body_is_a_clear_422_and_applies_nothing(world, case):
    body, message = MALFORMED[case]
    answer = send(body)
    assert answer.status_code == 422 and answer.json()["code"] == "hook_payload_invalid"
    assert message in answer.json()["detail"] and not Incident.objects.exists()


def test_an_entity_that_is_no_customer_is_refused_like_an_unknown_customer(world):
    answer = send(_item(entity={"id": 9, "name": "Entité inconnue", "completename": "Root entity > Entité inconnue"}))
    assert answer.status_code == 404 and answer.json()["code"] == "customer_not_found"
    assert not Incident.objects.exists()
    assert send(RECORDED, timestamp="1764749999").status_code == 202  # a later, right delivery goes through


def test_without_a_secret_the_glpi_hook_does_not_exist(world, settings):
    settings.ESCALADE_GLPI_WEBHOOK_SECRET = ""
    assert send(RECORDED).status_code == 404
