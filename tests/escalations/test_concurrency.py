"""50 identical escalation requests at once against a running server (`escalade serve`, gunicorn with
4 processes × 4 threads, on the PostgreSQL test database): one escalation, 50 successful answers. And a
request that waited for another writer's lock on its incident."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from notifications.support import free_port

N = 50


def post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError as exc:  # connection refused or reset: counted as a failed answer
        return 0, {"error": repr(exc)}



@pytest.fixture
def server(transactional_db, tmp_path):
    """`escalade serve` on a free port, sharing the test database (committed data is visible)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the in-memory SQLite test database cannot be shared with "
                    "server processes (set ESCALADE_TEST_DATABASE_URL)")
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    port = free_port()
    env = {**os.environ, "ESCALADE_DATABASE_URL": url, "ESCALADE_DATA_DIR": str(tmp_path),
           "ESCALADE_STATIC_ROOT": str(tmp_path / "static")}
    process = subprocess.Popen(
        [sys.executable, "-m", "escalade", "serve", "--port", str(port), "--workers", "4", "--threads", "4"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v1/policy", timeout=2)
        except urllib.error.HTTPError:
            break  # 401: it answers
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("escalade serve did not start") from None
            time.sleep(0.2)
    yield base
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_fifty_simultaneous_identical_requests_make_one_escalation(world, server):
    from escalade.accounts.models import ApiToken
    from escalade.escalations.models import Escalation, EscalationRequest
    from escalade.incidents.models import Channel
    from escalade.incidents.services import IncidentInput, upsert_incident
    from escalade.notifications.models import Notification

    now = datetime.now(UTC)
    upsert_incident(
        IncidentInput(request_number="REQ-1001", customer="client-a", priority="high",
                      opened_at=now - timedelta(hours=1, minutes=5)),
        user=None, channel=Channel.SYSTEM, now=now,
    )
    _, token = ApiToken.issue(world.users["customer_a"])
    url = f"{server}/api/v1/escalations"
    body = {"request_number": "REQ-1001", "reason": "Coupure totale"}
    start = threading.Barrier(N)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def ask() -> None:
        start.wait()
        answer = post(url, token, body)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=ask) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # The customer's limit (30 per 10 minutes) holds across the 4 processes × 4 threads serving them.
    limit = 30
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (limit - 1) + [201] + [429] * (N - limit), \
        [a for a in answers if a[0] not in (200, 201, 429)][:3]
    assert len(answers) == N
    assert Escalation.objects.count() == 1
    escalation = Escalation.objects.get()
    assert {b["id"] for status, b in answers if status < 300} == {escalation.pk}
    # Every accepted request is in the history: identical repeats folded into one entry with a count.
    history = EscalationRequest.objects.filter(escalation=escalation)
    assert sum(1 + r.repeat_count for r in history) == limit and history.count() <= 3
    # Notified once: one set of outbox rows, whatever the number of requests.
    keys = list(Notification.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) and all(k.startswith(f"escalation:{escalation.pk}:") for k in keys)


def test_a_request_that_waited_for_the_incident_s_lock_chains_after_what_the_other_writer_appended(
        world, transactional_db):
    """The request reads the chain's head with its lock (`lock_incident`). When the lock had to wait
    for another writer, PostgreSQL gives the row as that writer left it but the head as it was when
    the statement began: the entry is chained again on the real head, the chain stays one line and
    the request succeeds."""
    from escalade.escalations.services import request_escalation
    from escalade.incidents.audit import verify
    from escalade.incidents.models import Channel, EventKind, Incident
    from escalade.incidents.services import IncidentInput, lock_incident, upsert_incident
    from escalade.incidents.timeline import record

    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite writes one transaction at a time)")
    now = datetime.now(UTC)
    upsert_incident(IncidentInput(request_number="REQ-1001", customer="client-a", priority="high",
                                  opened_at=now - timedelta(hours=1, minutes=5)),
                    user=None, channel=Channel.SYSTEM, now=now)
    outcome: list[object] = []

    def ask() -> None:
        try:
            outcome.append(request_escalation(user=world.users["staff"], request_number="REQ-1001",
                                              reason="Coupure totale", now=now, channel=Channel.API))
        except Exception as exc:  # reported by the test, not lost in the thread
            outcome.append(exc)
        finally:
            connection.close()

    waiting = threading.Thread(target=ask)
    with transaction.atomic():
        incident = lock_incident(None, "REQ-1001")
        waiting.start()
        with connection.cursor() as cursor:  # until the request waits for this lock
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction sees one snapshot of the statistics
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.02)
            else:
                pytest.fail(f"the request never waited for the lock: {outcome}")
        record(incident, EventKind.MAIL_RECEIVED, now, channel=Channel.EMAIL, label="Client A", subject="coupure")
    waiting.join(timeout=30)
    [result] = outcome
    assert not isinstance(result, Exception), result
    assert result.created
    entries = list(Incident.objects.get(request_number="REQ-1001").timeline.order_by("id"))
    assert [e.kind for e in entries] == ["created", "mail_received", "escalation_granted"]
    assert entries[2].previous_hash == entries[1].hash
    [report] = verify(Incident.objects.filter(request_number="REQ-1001"))
    assert report.broken is None and report.entries == 3
