"""The administration shows history and never rewrites it: an admin changed an escalation's level,
reason and requester, cleared its acknowledgement, deleted a request, deleted an incident with its
whole timeline, and set a fact with no timeline event. Facts now change only through actions that
call the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from web.support import log_in

from escalade.escalations.models import EscalationRequest
from escalade.escalations.services import request_escalation
from escalade.incidents.models import Incident, IncidentPause, TimelineEvent
from escalade.incidents.services import IncidentInput, upsert_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(world):
    now = timezone.now()
    incident, _ = upsert_incident(
        IncidentInput(request_number="REQ-1042", customer="client-a", priority="high",
                      opened_at=now - timedelta(minutes=95)), user=None, channel="api", now=now)
    outcome = request_escalation(user=world.users["customer_a"], request_number="REQ-1042",
                                 reason="Coupure totale", now=now)
    return incident, outcome.escalation


@pytest.fixture
def admin_client(world):
    client = Client()
    assert log_in(client, "admin", "pw-adm-12345")
    return client


@pytest.mark.parametrize("model", ["escalations/escalation", "escalations/escalationrequest", "incidents/incident"])
def test_history_is_shown_but_cannot_be_changed_or_deleted(history, admin_client, model):
    incident, escalation = history
    pk = {"escalations/escalation": escalation.pk, "escalations/escalationrequest":
          EscalationRequest.objects.get().pk, "incidents/incident": incident.pk}[model]
    assert admin_client.get(f"/admin/{model}/{pk}/change/").status_code == 200  # shown
    changed = admin_client.post(f"/admin/{model}/{pk}/change/", {"level": 3, "reason": "réécrit"})
    assert changed.status_code == 403
    assert admin_client.post(f"/admin/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get(f"/admin/{model}/add/").status_code == 403
    escalation.refresh_from_db()
    assert (escalation.level, escalation.reason) == (2, "Coupure totale")
    assert Incident.objects.filter(pk=incident.pk).exists() and TimelineEvent.objects.filter(incident=incident).exists()


def test_an_incident_fact_changes_only_through_an_action_that_records_it(history, admin_client):
    incident, _ = history
    response = admin_client.post("/admin/incidents/incident/", {
        "action": "do_acknowledge", "_selected_action": [incident.pk],
    })
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None
    event = incident.timeline.get(kind="acknowledged")
    assert event.actor.username == "admin" and event.channel == "web"


def test_pauses_and_the_timeline_are_read_only_inlines(history, admin_client):
    incident, _ = history
    IncidentPause.objects.create(incident=incident, start=timezone.now())
    page = admin_client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert 'name="pauses-0-start"' not in page and 'name="timeline-0-kind"' not in page
    assert "DELETE" not in page
