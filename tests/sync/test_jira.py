"""Jira Service Management's admin webhook: an `issue_updated` body of the documented shape
(developer.atlassian.com, "Webhooks": `webhookEvent`, `issue.key`, `issue.fields`, `changelog`),
then the issue through its statuses; signatures and malformed bodies refused with nothing applied."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from escalade.incidents.models import Incident

pytestmark = pytest.mark.django_db
SECRET = "secret-jira"
RECORDED = json.loads((Path(__file__).parent / "recorded" / "jira.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def configured(settings: Any) -> None:
    settings.ESCALADE_JIRA_WEBHOOK_SECRET = SECRET
    settings.ESCALADE_JIRA_PROJECTS = "SUP=client-a"


def send(body: Any, delivery: str = "w-1", secret: str | None = SECRET) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER": delivery}
    if secret is not None:
        headers["HTTP_X_HUB_SIGNATURE"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return Client().post("/api/v1/hooks/jira", data=raw, content_type="application/json", **headers)


def status(name: str, category: str, updated: str, assignee: bool = True) -> dict[str, Any]:
    body = copy.deepcopy(RECORDED)
    fields = body["issue"]["fields"]
    fields.update(status={"name": name, "statusCategory": {"key": category}}, updated=updated)
    if not assignee:
        fields["assignee"] = None
    return body


def test_the_recorded_update_opens_the_incident_taken_in_charge_under_its_key(world):
    answer = send(RECORDED)
    assert answer.status_code == 202 and answer.json() == {"request_number": "SUP-123", "applied": 2}
    incident = Incident.objects.get(request_number="SUP-123")
    assert (incident.customer.code, incident.priority) == ("client-a", "high")
    assert incident.opened_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert incident.acknowledged_at == datetime(2026, 11, 27, 10, 20, tzinfo=UTC)  # In Progress, assigned
    assert incident.take_charge_due_at == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)  # HIPCOM high: 30 min


def test_the_issue_through_its_statuses_and_a_delivery_seen_twice(world):
    send(status("Waiting for support", "new", "2026-11-27T11:00:00.000+0100", assignee=False), "w-1")
    steps = [("In Progress", "indeterminate", "11:10"), ("Waiting for customer", "indeterminate", "11:20"),
             ("In Progress", "indeterminate", "11:50"), ("Resolved", "done", "12:30"), ("Reopened", "indeterminate", "12:40")]
    for i, (name, category, clock) in enumerate(steps, start=2):
        assert send(status(name, category, f"2026-11-27T{clock}:00.000+0100"), f"w-{i}").status_code == 202
    assert send(status("Reopened", "indeterminate", "2026-11-27T12:40:00.000+0100"), "w-6").json()["applied"] == 0
    incident = Incident.objects.get(request_number="SUP-123")
    assert list(incident.timeline.order_by("id").values_list("kind", flat=True)) == [
        "created", "acknowledged", "paused", "resumed", "resolved", "reopened"]
    assert incident.pauses.get().start == datetime(2026, 11, 27, 10, 20, tzinfo=UTC)


def test_another_event_is_accepted_and_changes_nothing(world):
    body = {**copy.deepcopy(RECORDED), "webhookEvent": "comment_created"}
    assert send(body).json() == {"request_number": "", "applied": 0} and not Incident.objects.exists()


@pytest.mark.parametrize("secret", [None, "pas-le-bon"], ids=["unsigned", "wrong-secret"])
def test_a_bad_signature_is_401_and_applies_nothing(world, secret):
    answer = send(RECORDED, secret=secret)
    assert answer.status_code == 401 and answer.json()["code"] == "hook_unauthorized"
    assert not Incident.objects.exists()


def _fields(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(RECORDED)
    for key, value in changes.items():
        if value is None:
            del body["issue"]["fields"][key]
        else:
            body["issue"]["fields"][key] = value
    return body


MALFORMED = {
    "not-json": (b"[1, 2", "Corps JSON illisible"),
    "no-issue": ({"webhookEvent": "jira:issue_updated"}, "l'objet « issue »"),
    "no-status": (_fields(status=None), "issue.fields.status.name manque"),
    "no-created": (_fields(created=None), "issue.fields.created manque"),
    "naive-instant": (_fields(created="2026-11-27T11:00:00"), "n'indique pas de décalage horaire"),
    "unknown-priority": (_fields(priority={"name": "Blocker"}), "« Blocker »"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_body_is_a_clear_422_and_applies_nothing(world, case):
    body, message = MALFORMED[case]
    answer = send(body)
    assert answer.status_code == 422 and message in answer.json()["detail"]
    assert not Incident.objects.exists()
