"""Escalade against a real Request Tracker 5 (tests/sync/conftest.py): tickets created and moved
through RT's own REST 2 API; the poll and the webhook bring the facts into the incident, each change
once; what the escalation decided goes back to the ticket as comments."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx2
import pytest
import rt.rest2
from django.test import Client
from django.utils import timezone

from escalade.escalations.services import acknowledge_escalation, request_escalation
from escalade.incidents.models import Channel, Incident
from escalade.sync import services
from escalade.sync.models import AppliedChange, SyncState
from escalade.sync.rt import RequestTracker, RTSettings

from .conftest import ROOT_PASSWORD, RTServer, start_rt

pytestmark = pytest.mark.django_db


def admin(server: RTServer) -> rt.rest2.Rt:
    return rt.rest2.Rt(f"{server.url}/REST/2.0/", http_auth=httpx2.BasicAuth("root", ROOT_PASSWORD))


def connector(server: RTServer) -> RequestTracker:
    return RequestTracker(RTSettings(url=server.url, user="root", password=ROOT_PASSWORD,
                                     queues={"Clients A": "client-a"}))


@pytest.fixture(scope="session")
def queues(rt_server: RTServer) -> None:
    client = admin(rt_server)
    for name in ("Clients A", "client-b", "Inconnus"):
        client.create_queue(name)


def ticket(server: RTServer, queue: str = "Clients A", priority: int = 80, subject: str = "Lien fibre coupé") -> int:
    return admin(server).create_ticket(queue, subject=subject, content="Plus de service.", Priority=priority)


def move(server: RTServer, ticket_id: int, *statuses: str) -> None:
    for status in statuses:
        admin(server).edit_ticket(ticket_id, Status=status)


def test_a_ticket_taken_through_its_life_in_rt_becomes_the_incident_and_its_timeline(world, rt_server, queues):
    rt_tracker = connector(rt_server)
    number = ticket(rt_server)
    services.poll(rt_tracker, timezone.now())
    incident = Incident.objects.get(request_number=f"RT-{number}")
    assert (incident.customer.code, incident.priority, incident.title) == ("client-a", "high", "Lien fibre coupé")
    assert incident.acknowledged_at is None and incident.take_charge_due_at == incident.opened_at + timedelta(minutes=30)
    move(rt_server, number, "open", "stalled", "open", "resolved", "open")
    report = services.poll(rt_tracker, timezone.now())
    incident.refresh_from_db()
    assert report.errors == [] and incident.acknowledged_at is not None
    pauses = list(incident.pauses.all())
    assert len(pauses) == 1 and pauses[0].end is not None
    assert incident.resolved_at is None and len(incident.reopenings) == 1  # resolved, then reopened
    kinds = list(incident.timeline.order_by("id").values_list("kind", "channel"))
    assert [k for k, _ in kinds] == ["created", "acknowledged", "paused", "resumed", "resolved", "reopened"]
    assert {c for _, c in kinds} == {Channel.SYNC}
    # Read again, nothing is applied twice.
    again = services.poll(rt_tracker, timezone.now(), since=incident.opened_at - timedelta(minutes=1))
    assert again.applied == 0 and incident.timeline.count() == 6


def test_the_webhook_applies_a_change_at_once_and_the_same_call_three_times_applies_it_once(
        world, rt_server, queues, settings):
    settings.ESCALADE_RT_URL, settings.ESCALADE_RT_USER, settings.ESCALADE_RT_PASSWORD = rt_server.url, "root", ROOT_PASSWORD
    settings.ESCALADE_RT_QUEUES, settings.ESCALADE_RT_WEBHOOK_TOKEN = "Clients A=client-a", "secret-du-scrip"
    number = ticket(rt_server)
    client = Client()

    def hook(token: str = "secret-du-scrip") -> Any:
        return client.post("/api/v1/hooks/rt", data=json.dumps({"ticket": number}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")

    answers = [hook() for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["applied"] for a in answers] == [1, 0, 0]
    move(rt_server, number, "open")
    assert hook().json()["applied"] == 1
    assert Incident.objects.get(request_number=f"RT-{number}").acknowledged_at is not None
    assert AppliedChange.objects.filter(request_number=f"RT-{number}").count() == 2


def test_a_webhook_with_a_bad_token_is_refused_and_applies_nothing(world, rt_server, queues, settings):
    settings.ESCALADE_RT_URL, settings.ESCALADE_RT_USER, settings.ESCALADE_RT_PASSWORD = rt_server.url, "root", ROOT_PASSWORD
    settings.ESCALADE_RT_QUEUES, settings.ESCALADE_RT_WEBHOOK_TOKEN = "Clients A=client-a", "secret-du-scrip"
    number = ticket(rt_server)
    refused = Client().post("/api/v1/hooks/rt", data=json.dumps({"ticket": number}), content_type="application/json",
                            HTTP_AUTHORIZATION="Bearer devine")
    assert refused.status_code == 401 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "hook_unauthorized"
    assert not Incident.objects.filter(request_number=f"RT-{number}").exists()


def test_a_lost_webhook_is_repaired_by_the_next_poll(world, rt_server, queues):
    rt_tracker = connector(rt_server)
    number = ticket(rt_server)
    services.sync_ticket(rt_tracker, number, timezone.now())  # the webhook of the creation arrived
    move(rt_server, number, "open", "resolved")  # these two calls were lost
    services.poll(rt_tracker, timezone.now())
    incident = Incident.objects.get(request_number=f"RT-{number}")
    assert incident.acknowledged_at is not None and incident.resolved_at is not None


def test_a_ticket_of_an_unknown_customer_is_refused_with_a_clear_error_and_the_others_go_on(world, rt_server, queues):
    rt_tracker = connector(rt_server)
    unknown = ticket(rt_server, queue="Inconnus")
    known = ticket(rt_server, queue="client-b", priority=50)
    report = services.poll(rt_tracker, timezone.now())
    assert any(f"ticket {unknown}" in e and "Aucun client ne porte le code « Inconnus »" in e for e in report.errors)
    assert not Incident.objects.filter(request_number=f"RT-{unknown}").exists()
    assert Incident.objects.get(request_number=f"RT-{known}").priority == "medium"
    assert "Inconnus" in SyncState.objects.get(connector="rt").last_error


def test_an_escalation_and_its_acknowledgement_are_written_on_the_rt_ticket(world, rt_server, queues):
    rt_tracker = connector(rt_server)
    number = ticket(rt_server)
    services.poll(rt_tracker, timezone.now())
    incident = Incident.objects.get(request_number=f"RT-{number}")
    later = incident.opened_at + timedelta(hours=1, minutes=5)  # high, not taken: level 1 is open
    outcome = request_escalation(user=world.users["customer_a"], request_number=incident.request_number,
                                 reason="Toujours coupé", now=later, channel=Channel.WEB)
    assert outcome.created
    acknowledge_escalation(user=world.users["staff"], escalation_id=outcome.escalation.pk, now=later)
    report = services.poll(rt_tracker, later)
    assert report.comments == 2 and services.poll(rt_tracker, later).comments == 0
    assert [_text(rt_server, t) for t in _comments(rt_server, number)] == [
        f"Escalade de niveau 1 accordée le {timezone.localtime(later):%d/%m/%Y à %H:%M}.\n"
        "Demandée par : cust-a\nMotif : Toujours coupé\nContacts prévenus : Support Technique (escalade@hipcom.fr)",
        f"Escalade de niveau 1 prise en compte le {timezone.localtime(later):%d/%m/%Y à %H:%M} par staff.",
    ]


def _comments(server: RTServer, ticket_id: int) -> list[dict[str, Any]]:
    return [t for t in admin(server).get_ticket_history(ticket_id) if t["Type"] == "Comment"]


def _text(server: RTServer, transaction: dict[str, Any]) -> str:
    link = next(h for h in transaction["_hyperlinks"] if h.get("ref") == "attachment")
    found = admin(server).get_attachment(int(link["_url"].rsplit("/", 1)[1]))
    return base64.b64decode(found["Content"]).decode()


def test_rt_stopped_during_a_sync_leaves_a_visible_lag_and_the_next_poll_catches_up(world, tmp_path):
    server = start_rt(tmp_path / "rt")
    try:
        admin(server).create_queue("Clients A")
        rt_tracker = connector(server)
        first = ticket(server)
        services.poll(rt_tracker, timezone.now())
        server.stop()
        second_at = timezone.now()
        with pytest.raises(Exception):  # noqa: B017  RT's client says it its own way
            services.poll(rt_tracker, second_at)
        state = SyncState.objects.get(connector="rt")
        assert "injoignable" in state.last_error
        assert services.status("rt", second_at + timedelta(minutes=5))["lag_seconds"] >= 300
        server.start()
        move(server, first, "open")
        second = ticket(server)
        services.poll(rt_tracker, timezone.now())
        assert Incident.objects.get(request_number=f"RT-{first}").acknowledged_at is not None
        assert Incident.objects.filter(request_number=f"RT-{second}").exists()
    finally:
        server.stop()
