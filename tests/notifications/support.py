"""Real parts for the notification tests: an SMTP server, a webhook receiver, a clock we drive."""

from __future__ import annotations

import email
import email.policy
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768–60999): a port the kernel hands out with
    bind(0) can be taken by any outgoing connection (a worker's to PostgreSQL, say) before the
    server the test starts binds it, and that server then never answers."""
    rnd = random.Random()
    for _ in range(200):
        port = rnd.randrange(20000, 32768)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32767")


class _Collect:
    def __init__(self, sink: SMTPSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


class SMTPSink:
    """aiosmtpd on 127.0.0.1; stop() and start() again on the same port to simulate an outage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> SMTPSink:
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def mailers(self) -> dict[str, Any]:
        return {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                            "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5}}}

    def covered(self) -> Counter[str]:
        """How many times each notification arrived (its Message-ID), alone or in a digest."""
        with self.lock:
            return Counter(covered for _rcpt, m in self.messages
                           for covered in (m["X-Escalade-Covers"] or m["Message-ID"]).split())

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.messages if address in rcpt]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)


class WebhookReceiver:
    """A generic JSON webhook endpoint (what apprise's json:// posts to)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/"


class FakeClock:
    """Virtual time that also moves with real time spent working, so processing delays count;
    `sleep` jumps forward instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self.virtual = start
        self.mark = time.monotonic()

    def __call__(self) -> datetime:
        return self.virtual + timedelta(seconds=time.monotonic() - self.mark)

    def sleep(self, seconds: float) -> None:
        self.virtual = self() + timedelta(seconds=seconds)
        self.mark = time.monotonic()

    def advance(self, delta: timedelta) -> None:
        self.sleep(delta.total_seconds())


@contextmanager
def policy_with(tmp_path: Path, apprise: dict[str, str] | None = None, **notifications: Any) -> Iterator[Path]:
    """The active policy with some [notifications] options changed and apprise URLs added to
    contacts (by email), active for the block."""
    from escalade.policies import DEFAULT_POLICY, services, store

    before = store.text_of(store.latest())
    text = before
    for address, url in (apprise or {}).items():
        marker = f'email = "{address}"'
        text = text.replace(marker, f'{marker}\napprise = ["{url}"]')
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in notifications:
            continue
        lines.append(line)
        if line.strip() == "[notifications]":
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in notifications.items())
    path = tmp_path / DEFAULT_POLICY
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from django.test import override_settings

    # A new version of the default policy: notification rules and contacts follow the latest one.
    services.save_version(store.default_name(), path.read_text(encoding="utf-8"), label="test")
    try:
        with override_settings(ESCALADE_POLICY=str(path)):
            yield path
    finally:
        services.save_version(store.default_name(), before, label="test")


def now_utc() -> datetime:
    return datetime.now(UTC)


def open_incident(customer: Any, request_number: str, opened_at: datetime, *, priority: str = "high",
                  now: datetime | None = None, track: str = "support") -> Any:
    """Opened through the service, as an integration would."""
    from escalade.incidents.services import IncidentInput, upsert_incident

    incident, _ = upsert_incident(
        IncidentInput(request_number=request_number, customer=customer.code, priority=priority,
                      opened_at=opened_at, track=track),
        user=None, channel="api", now=now or opened_at,
    )
    return incident
