"""Abuse is throttled, in the database (so across processes): escalation requests per person and
per incident, wrong API tokens per address, wrong passwords per account and address.

REQ-1001 of customer A, high priority, opened an hour before Friday 2026-11-27 12:00 Paris: its
take-charge (30 mn) is breached, so level 1 is open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

RATES = {"escalations_per_user": (30, 600), "escalations_per_incident": (60, 600),
         "token_failures_per_address": (20, 300)}


@pytest.fixture(autouse=True)
def rates(settings):
    settings.THROTTLE_RATES = RATES
    settings.ESCALATION_FOLD_SECONDS = 600


@pytest.fixture
def incident(make_incident):
    return make_incident("REQ-1001", ago=timedelta(hours=1))


def escalate(api, who="customer_a", number="REQ-1001", reason="Site de Lyon coupé"):
    return api("POST", "/escalations", who, {"request_number": number, "reason": reason})


def test_200_requests_for_one_incident_make_two_history_entries_and_429s_past_the_limit(api, incident):
    answers = [escalate(api) for _ in range(200)]
    statuses = [a.status_code for a in answers]
    assert statuses[0] == 201 and set(statuses[1:30]) == {200}
    assert set(statuses[30:]) == {429}
    refused = answers[30]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.body["code"] == "rate_limited"
    assert refused.body["detail"].startswith("Trop de demandes d'escalade en peu de temps. Réessayez dans ")
    # The window is aligned on the epoch: at 12:00 Paris a 10-minute window has 10 minutes left.
    assert refused["Retry-After"] == "600" and refused.body["retry_after"] == 600
    history = list(incident.escalation_requests.order_by("id").values_list("outcome", "repeat_count"))
    assert history == [("granted", 0), ("repeated", 28)]
    assert list(incident.timeline.order_by("id").values_list("kind", flat=True)) == [
        "created", "escalation_granted", "escalation_requested"]


def test_a_different_reason_is_a_new_history_entry(api, incident):
    for reason in ("Site de Lyon coupé", "Site de Lyon coupé", "Toujours coupé, 40 postes à l'arrêt"):
        assert escalate(api, reason=reason).status_code in (200, 201)
    assert list(incident.escalation_requests.order_by("id").values_list("outcome", "reason", "repeat_count")) == [
        ("granted", "Site de Lyon coupé", 0), ("repeated", "Site de Lyon coupé", 0),
        ("repeated", "Toujours coupé, 40 postes à l'arrêt", 0)]


def test_the_same_request_after_the_fold_window_is_written_again(api, incident, monkeypatch, now):
    assert escalate(api).status_code == 201
    assert escalate(api).status_code == 200
    assert escalate(api).status_code == 200
    monkeypatch.setattr("escalade.api.clock.now", lambda: now + timedelta(minutes=11))
    assert escalate(api).status_code == 200
    assert list(incident.escalation_requests.order_by("id").values_list("outcome", "repeat_count")) == [
        ("granted", 0), ("repeated", 1), ("repeated", 0)]


def test_nobody_can_use_up_the_limit_of_someone_elses_incident(api, incident):
    # Customer B floods A's number: 404s (as for any unknown number), then its own limit.
    flood = [escalate(api, who="customer_b").status_code for _ in range(40)]
    assert set(flood[:30]) == {404} and set(flood[30:]) == {429}
    unknown = [escalate(api, who="partner_none", number="REQ-9999").status_code for _ in range(40)]
    assert unknown == flood  # an existing number of someone else costs exactly what an unknown one does
    assert escalate(api).status_code == 201  # customer A is not limited by it


def test_the_per_incident_limit_counts_every_person(api, incident):
    statuses = [escalate(api, who=who, reason=f"demande {i}").status_code
                for i in range(25) for who in ("customer_a", "partner_a", "staff")]
    assert statuses.count(429) == 75 - 60
    assert set(statuses[:60]) <= {200, 201}


def test_wrong_tokens_from_one_address_are_refused_for_a_while(api, world, monkeypatch, now):
    wrong = [api("GET", "/incidents", "anonymous", HTTP_AUTHORIZATION=f"Bearer esc_wrong_{i}") for i in range(25)]
    assert [w.status_code for w in wrong] == [401] * 20 + [429] * 5
    assert wrong[-1]["Retry-After"] == "300" and wrong[-1].body["code"] == "rate_limited"
    # Meanwhile a right token from that address waits too; from another address it works.
    assert api("GET", "/incidents", "staff").status_code == 429
    assert api("GET", "/incidents", "staff", REMOTE_ADDR="192.0.2.7").status_code == 200
    monkeypatch.setattr("escalade.api.clock.now", lambda: now + timedelta(minutes=5))
    assert api("GET", "/incidents", "staff").status_code == 200


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(api, world, settings):
    settings.PROXY_COUNT = 1
    for i in range(21):
        # The client writes what it likes on the left of X-Forwarded-For: only the proxy's entry counts.
        last = api("GET", "/incidents", "anonymous", HTTP_AUTHORIZATION=f"Bearer esc_wrong_{i}",
                   HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 198.51.100.4")
    assert last.status_code == 429
    assert api("GET", "/incidents", "staff", HTTP_X_FORWARDED_FOR="198.51.100.5").status_code == 200


def test_wrong_passwords_lock_the_account_for_this_address_then_say_so_in_french(world):
    client = Client()
    wrong = [client.post("/connexion/", {"username": "cust-a", "password": "mauvais"}).status_code
             for _ in range(10)]
    assert wrong == [200] * 9 + [429]  # the tenth wrong password locks
    locked = client.post("/connexion/", {"username": "cust-a", "password": "pw-a-12345"})
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert "la connexion est bloquée pendant 15 minutes" in locked.content.decode()
    # The same account from another address, and another account from this one, still log in.
    other = Client(REMOTE_ADDR="192.0.2.8").post("/connexion/", {"username": "cust-a", "password": "pw-a-12345"})
    assert other.status_code == 302
    assert Client().post("/connexion/", {"username": "cust-b", "password": "pw-b-12345"}).status_code == 302


def test_a_limited_portal_request_shows_the_message_with_retry_after(world, incident, settings):
    from web.support import log_in

    settings.THROTTLE_RATES = {**RATES, "escalations_per_user": (2, 600)}
    client = Client()
    assert log_in(client, "cust-a", "pw-a-12345")
    for _ in range(2):
        client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "coupure", "level": 1})
    page = client.post("/portail/incidents/REQ-1001/escalader/", {"reason": "coupure", "level": 1})
    assert page.status_code == 429 and page["Retry-After"]
    assert "Trop de demandes d&#x27;escalade en peu de temps" in page.content.decode()


def test_limits_hold_across_web_processes(tmp_path):
    """Three gunicorn workers, one database: the 21st wrong token is refused whichever worker answers."""
    from api.test_serve import free_port

    limit, window = RATES["token_failures_per_address"]
    env = {**os.environ, "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "ESCALADE_DATA_DIR": str(tmp_path), "ESCALADE_STATIC_ROOT": str(tmp_path / "static"),
           "ESCALADE_RATE_TOKEN_FAILURES": f"{limit}/{window}"}
    env.pop("ESCALADE_TEST_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "escalade", "migrate", "-v0"], env=env, check=True)
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "escalade", "serve", "--port", str(port), "--workers", "3"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def call(i: int) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/policy",
                                         headers={"Authorization": f"Bearer esc_wrong_{i}", "Connection": "close"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())["code"]

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/policy", timeout=2)
            except urllib.error.HTTPError:
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        # The probe above had no token: nothing counted yet. Windows are aligned on the epoch: 30
        # calls across a window's end would count from zero again in the next one (this test failed
        # once so), hence all in one window.
        if (left := window - time.time() % window) < 20:
            time.sleep(left + 0.5)
        answers = [call(i) for i in range(30)]
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert answers == [(401, "invalid_token")] * limit + [(429, "rate_limited")] * (30 - limit)


def test_expired_counters_are_swept_once_per_limit_and_window_not_at_every_new_subject(now, monkeypatch):
    from escalade.accounts import throttle
    from escalade.accounts.models import RateCounter

    monkeypatch.setattr(throttle, "_swept", {})  # this process may have swept in this window already

    earlier = now - timedelta(minutes=20)  # two windows of 600 s before
    throttle.hit("escalations_per_incident", "incident:1", earlier)
    throttle.hit("escalations_per_incident", "incident:2", now)  # a new window: the expired one goes
    assert set(RateCounter.objects.values_list("key", flat=True)) == {
        throttle.counter_key("escalations_per_incident", "incident:2", now)}
    RateCounter.objects.create(key="left-over", count=1, expires_at=earlier)
    throttle.hit("escalations_per_incident", "incident:3", now)  # the same window: not swept again
    assert RateCounter.objects.filter(key="left-over").exists()
    throttle.hit("escalations_per_incident", "incident:4", now + timedelta(minutes=10))  # the next one: swept
    assert not RateCounter.objects.filter(key="left-over").exists()


def test_an_event_counted_inside_a_transaction_is_one_statement_without_a_savepoint(now, monkeypatch):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from escalade.accounts import throttle

    key = throttle.counter_key("escalations_per_incident", "incident:1", now)
    monkeypatch.setattr(throttle, "_swept", {"escalations_per_incident": int(key.rsplit(":", 1)[1])})
    with transaction.atomic(), CaptureQueriesContext(connection) as statements:
        counts = [throttle.hit("escalations_per_incident", "incident:1", now) for _ in range(2)]
    assert counts == [1, 2]
    assert [q["sql"].split()[0] for q in statements.captured_queries] == ["INSERT", "INSERT"]
