"""/healthz and /metrics: what an operator watches, read from the database (the same answer from
every web process). REQ-1001 of customer A, high priority, breached: its alert is due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from escalade.notifications.models import DeliveryStatus, Notification, WorkerHeartbeat
from escalade.worker import TickReport, Watcher

from .support import make_incident

pytestmark = pytest.mark.django_db


def test_healthz_is_503_until_a_worker_has_been_seen(world):
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"]["ok"] and not body["worker"]["ok"]
    Watcher().beat()
    body = Client().get("/healthz").json()
    assert body["status"] == "ok" and body["worker"]["last_seen_seconds"] < 5


def test_healthz_is_503_when_a_worker_fell_silent_or_the_outbox_is_stuck(world, settings):
    watcher = Watcher()
    watcher.beat()
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=61))
    assert Client().get("/healthz").json()["worker"]["ok"] is False
    watcher.last_beat = None
    watcher.beat()
    make_incident("REQ-1001", "client-a", "high", timedelta(minutes=35))
    Watcher().watch(TickReport())  # the breach alert is written, nobody sends it
    Notification.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=301))
    response = Client().get("/healthz")
    assert response.status_code == 503
    outbox = response.json()["outbox"]
    assert not outbox["ok"] and outbox["due"] >= 1 and outbox["oldest_due_seconds"] > 300


def test_metrics_speak_prometheus(world):
    make_incident("REQ-1001", "client-a", "high", timedelta(minutes=35))
    watcher = Watcher()
    watcher.watch(TickReport())
    watcher.beat()
    text = Client().get("/metrics").content.decode()
    assert 'escalade_open_incidents{priority="high"} 1.0' in text
    assert f'escalade_notifications{{status="{DeliveryStatus.PENDING}"}}' in text
    assert "escalade_outbox_oldest_due_seconds" in text
    assert "escalade_worker_last_seen_seconds{" in text
    assert 'escalade_delivery_latency_seconds_bucket{le="5.0"}' in text


def test_metrics_ask_for_the_token_when_one_is_set(world, settings):
    settings.METRICS_TOKEN = "jeton-de-supervision"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer jeton-de-supervision").status_code == 200


def test_metrics_count_what_each_worker_did_and_time_the_api(world, smtp):
    make_incident("REQ-1001", "client-a", "high", timedelta(minutes=35))  # warning superseded, breach due
    watcher = Watcher()
    watcher.tick()  # records the two crossings, writes the breach alert and delivers it
    watcher.beat()
    staff = world.users["staff"]
    from escalade.accounts.models import ApiToken

    _, raw = ApiToken.issue(staff)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/incidents/REQ-1001").status_code == 200
    assert api.get("/api/v1/incidents/REQ-9999").status_code == 404
    text = Client().get("/metrics").content.decode()
    assert "escalade_worker_crossings_total{host=" in text and '"} 2.0' in text.split("escalade_worker_crossings_total{")[1]
    assert 'escalade_worker_alerts_total{' in text and 'escalade_worker_delivered_total{' in text
    route = 'route="api/v1/incidents/<request_number>"'
    assert f'escalade_api_request_seconds_count{{method="GET",{route},status="2xx"}}' in text
    assert f'escalade_api_request_seconds_count{{method="GET",{route},status="4xx"}}' in text


def test_healthz_says_when_the_helpdesk_sync_lags(world, settings):
    from escalade.sync.models import SyncState

    Watcher().beat()
    assert "sync" not in Client().get("/healthz").json()  # no helpdesk configured, nothing to watch
    settings.ESCALADE_RT_URL = "http://rt.example"
    never = Client().get("/healthz")
    assert never.status_code == 503 and never.json()["sync"]["ok"] is False
    SyncState.objects.create(connector="rt", last_success_at=timezone.now() - timedelta(seconds=30))
    assert Client().get("/healthz").json()["sync"] == {"ok": True, "connector": "rt", "lag_seconds": pytest.approx(30, abs=5),
                                                       "last_error": "", "limit_seconds": 600}
    SyncState.objects.update(last_success_at=timezone.now() - timedelta(minutes=11), last_error="RT injoignable")
    late = Client().get("/healthz")
    assert late.status_code == 503 and late.json()["sync"]["last_error"] == "RT injoignable"


def test_the_dashboard_warns_staff_when_the_helpdesk_sync_lags_or_failed(world, settings):
    from escalade.sync.models import SyncState

    client = Client()
    client.force_login(world.users["staff"])
    assert "Request Tracker" not in client.get("/tableau-de-bord/").content.decode()
    settings.ESCALADE_RT_URL = "http://rt.example"
    SyncState.objects.create(connector="rt", last_success_at=timezone.now() - timedelta(minutes=12),
                             last_error="ticket 7 : Aucun client ne porte le code « Inconnus ».")
    page = client.get("/tableau-de-bord/").content.decode()
    assert "Synchronisation avec Request Tracker en retard : dernier succès il y a 12 min" in page
    assert "ticket 7 : Aucun client ne porte le code « Inconnus »." in page
    SyncState.objects.update(last_success_at=timezone.now(), last_error="")
    assert "Request Tracker" not in client.get("/tableau-de-bord/").content.decode()


def test_healthz_says_when_the_procedures_mailbox_is_read_late(world, settings):
    from escalade.mail.imap import Settings
    from escalade.mail.models import Mailbox

    Watcher().beat()
    assert "mailbox" not in Client().get("/healthz").json()  # mail piped by the MTA: no fetcher to watch
    settings.ESCALADE_MAIL_IMAP_URL = "imap://escalade:secret@mail.hipcom.fr:143"
    never = Client().get("/healthz")
    assert never.status_code == 503 and never.json()["status"] == "degraded"
    assert never.json()["mailbox"] == {"ok": False, "lag_seconds": None, "last_error": "", "limit_seconds": 300}
    # Another folder's fetcher is not this mailbox's.
    Mailbox.objects.create(url="imap://escalade@mail.hipcom.fr:143/Archives", last_success_at=timezone.now())
    assert Client().get("/healthz").status_code == 503
    Mailbox.objects.create(url=Settings.from_django().public_url, last_success_at=timezone.now() - timedelta(seconds=30))
    fresh = Client().get("/healthz")
    assert fresh.status_code == 200 and fresh.json()["status"] == "ok"
    assert fresh.json()["mailbox"] == {"ok": True, "lag_seconds": pytest.approx(30, abs=5), "last_error": "",
                                       "limit_seconds": 300}
    assert "secret" not in fresh.content.decode()
    Mailbox.objects.update(last_success_at=timezone.now() - timedelta(seconds=301), last_error="LOGIN failed")
    late = Client().get("/healthz")
    assert late.status_code == 503 and late.json()["mailbox"]["ok"] is False
    assert late.json()["mailbox"]["last_error"] == "LOGIN failed"
    settings.ESCALADE_MAIL_IMAP_URL = "imap://escalade:secret@mail.hipcom.fr:l43"  # a typo in the port
    wrong = Client().get("/healthz")
    assert wrong.status_code == 503 and wrong.json()["mailbox"]["ok"] is False
    assert "ESCALADE_MAIL_IMAP_URL" in wrong.json()["mailbox"]["last_error"] and "secret" not in wrong.content.decode()


def test_the_dashboard_warns_staff_when_the_procedures_mailbox_is_read_late(world, settings):
    from escalade.mail.imap import Settings
    from escalade.mail.models import Mailbox

    client = Client()
    client.force_login(world.users["staff"])
    settings.ESCALADE_MAIL_IMAP_URL = "imap://escalade:secret@mail.hipcom.fr:143"
    page = client.get("/tableau-de-bord/").content.decode()
    assert "La boîte aux lettres de la procédure n'a encore jamais été relevée" in page
    Mailbox.objects.create(url=Settings.from_django().public_url, last_error="LOGIN failed",
                           last_success_at=timezone.now() - timedelta(minutes=7))
    page = client.get("/tableau-de-bord/").content.decode()
    assert "dernière relève réussie il y a 7 min" in page and "LOGIN failed" in page
    Mailbox.objects.update(last_success_at=timezone.now(), last_error="")
    assert "boîte aux lettres de la procédure" not in client.get("/tableau-de-bord/").content.decode()
    Mailbox.objects.update(last_success_at=timezone.now() - timedelta(minutes=7))
    english = client.get("/tableau-de-bord/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The procedure's mailbox is read late: last successful read 7 min ago" in english
