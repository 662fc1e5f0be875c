"""A database outage with figures, on a throwaway PostgreSQL cluster of the test's own (initdb and
pg_ctl on a free port; never the machine's shared server), with `escalade serve` (2 processes),
`escalade worker` and a real SMTP server.

Escalations are requested, the cluster is stopped for ESCALADE_TEST_PG_OUTAGE seconds (30 by
default) and started again. Meanwhile the API answers 503 with Retry-After and the worker waits;
afterwards it resumes by itself, every escalation answered 201 exists exactly once and every
notification is delivered. The incidents are HIPCOM high-priority ones opened two hours earlier on
a GTR contract (take-charge 30 mn, long overdue): an escalation is open for each.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notifications.support import SMTPSink, free_port

from escalade.notifications.channels import message_id

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
OUTAGE = float(os.environ.get("ESCALADE_TEST_PG_OUTAGE", "30"))
TOKEN = "esc_demo_support_2026"  # `escalade demo`'s staff token

pytestmark = pytest.mark.skipif(not PG_BINS, reason="PostgreSQL's server binaries are not installed")


class ThrowawayPostgres:
    """A cluster in a temporary directory, run as the `postgres` account when the tests run as root
    (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = Path(PG_BINS[-1])
        self.root = Path(tempfile.mkdtemp(prefix="escalade-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres")

    def run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> ThrowawayPostgres:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def call(port: int, method: str, path: str, body: object = None) -> tuple[int, dict, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def query(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


def test_a_database_outage_loses_and_duplicates_nothing():
    import psycopg

    pg = ThrowawayPostgres().init()
    sink = SMTPSink().start()
    processes: list[subprocess.Popen] = []
    try:
        pg.start()
        with psycopg.connect(pg.url("postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE escalade")
        env = {**os.environ, "ESCALADE_DATABASE_URL": pg.url("escalade"), "ESCALADE_DATA_DIR": str(pg.root),
               "ESCALADE_EMAIL_URL": sink.url, "ESCALADE_STATIC_ROOT": str(pg.root / "static"), "ESCALADE_DEV": "1"}
        env.pop("ESCALADE_TEST_DATABASE_URL", None)
        subprocess.run([sys.executable, "-m", "escalade", "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "escalade", "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        worker_log = pg.root / "worker.log"
        with worker_log.open("w") as log:
            worker = subprocess.Popen([sys.executable, "-m", "escalade", "worker", "--interval", "0.2"],
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(worker)
        wait_until(lambda: _answers(port), 60, "escalade serve did not start")

        opened = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        numbers = [f"REQ-{5001 + i}" for i in range(10)]
        for number in numbers:
            status, _, _ = call(port, "POST", "/incidents", {"request_number": number, "customer": "acme",
                                                             "priority": "high", "opened_at": opened})
            assert status == 201
        granted = [n for n in numbers[:5] if call(port, "POST", "/escalations",
                                                  {"request_number": n, "reason": "coupure"})[0] == 201]
        assert granted == numbers[:5]

        pg.stop()
        outage_answers = []
        started = time.monotonic()
        while time.monotonic() - started < OUTAGE:
            for method, path, body in (("GET", "/incidents", None),
                                       ("POST", "/escalations", {"request_number": numbers[5], "reason": "coupure"})):
                status, headers, problem = call(port, method, path, body)
                outage_answers.append(status)
                assert status == 503, problem
                assert headers["Retry-After"] and headers["Content-Type"] == "application/problem+json"
                assert problem["code"] == "service_unavailable"
            assert worker.poll() is None, worker_log.read_text()  # the worker waits, it does not die
            assert health(port) == (503, "down")
            time.sleep(1)
        pg.start()

        wait_until(lambda: call(port, "GET", "/incidents")[0] == 200, 30, "the API did not come back")
        wait_until(lambda: health(port) == (200, "ok"), 30, "the worker's heartbeat did not come back")
        for number in numbers[5:]:
            status, _, body = call(port, "POST", "/escalations", {"request_number": number, "reason": "coupure"})
            assert status == 201, body
            granted.append(number)

        url = pg.url("escalade")
        mine = "(SELECT id FROM incidents_incident WHERE request_number LIKE 'REQ-50%')"

        def delivered() -> bool:
            return not query(url, f"SELECT 1 FROM notifications_notification WHERE incident_id IN {mine} "
                                  "AND status <> 'sent'")

        wait_until(delivered, 60, "notifications were not all delivered after the outage: "
                   + worker_log.read_text()[-2000:])
        escalations = query(url, f"SELECT i.request_number, count(*) FROM escalations_escalation e JOIN "
                                 f"incidents_incident i ON i.id = e.incident_id WHERE e.incident_id IN {mine} "
                                 "GROUP BY i.request_number")
        assert dict(escalations) == dict.fromkeys(granted, 1)  # each answered 201 exists exactly once
        keys = [key for (key,) in query(url, "SELECT idempotency_key FROM notifications_notification "
                                             f"WHERE incident_id IN {mine} AND channel = 'email'")]
        sent = (len(keys), len(set(keys)))
        assert sent[0] == sent[1] > 0
        # Each e-mail notification (the escalations' and the crossings' alerts) arrived once, alone or
        # in a digest (which names each alert's own Message-ID).
        covered = sink.covered()
        assert [covered[message_id(key)] for key in keys] == [1] * len(keys)
        assert "base de données injoignable" in worker_log.read_text()
        # The watcher's own loop comes back at its next try (at most DATABASE_RETRY_MAX seconds later).
        wait_until(lambda: "de nouveau joignable" in worker_log.read_text(), 30,
                   "the watcher did not resume: " + worker_log.read_text()[-2000:])
        print(f"outage {OUTAGE:.0f} s: {len(outage_answers)} calls answered 503, {len(granted)} escalations "
              f"granted once each, {sent[0]} e-mail notifications delivered, 0 lost, 0 duplicated")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        sink.stop()
        pg.remove()


def health(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())["status"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["status"]


def _answers(port: int) -> bool:
    try:
        return call(port, "GET", "/policy")[0] == 200
    except OSError:
        return False
