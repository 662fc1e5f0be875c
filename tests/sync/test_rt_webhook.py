"""RT's own scrip calls Escalade's webhook on each change (no poll running): the incident follows
the ticket within 5 seconds, through new → open → stalled → open → resolved → reopened."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from escalade.incidents.models import Incident

from .conftest import start_rt
from .test_rt import admin, move, ticket

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "secret-du-scrip"


def within(seconds: float, check: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_rts_scrip_brings_each_change_within_5_seconds(world, live_server, settings, tmp_path):
    server = start_rt(tmp_path / "rt", webhook=(f"{live_server.url}/api/v1/hooks/rt", TOKEN))
    settings.ESCALADE_RT_URL, settings.ESCALADE_RT_USER, settings.ESCALADE_RT_PASSWORD = server.url, "root", "password"
    settings.ESCALADE_RT_QUEUES, settings.ESCALADE_RT_WEBHOOK_TOKEN = "Clients A=client-a", TOKEN
    try:
        admin(server).create_queue("Clients A")
        number = ticket(server)
        found = Incident.objects.filter(request_number=f"RT-{number}")
        delays = [within(5, found.exists)]

        def latest() -> Incident:
            incident = found.get()
            incident.pauses_open = incident.pauses.filter(end__isnull=True).exists()  # type: ignore[attr-defined]
            return incident

        steps = [("open", lambda i: i.acknowledged_at is not None),
                 ("stalled", lambda i: i.pauses_open),
                 ("open", lambda i: not i.pauses_open and i.pauses.count() == 1),
                 ("resolved", lambda i: i.resolved_at is not None),
                 ("open", lambda i: i.resolved_at is None and len(i.reopenings) == 1)]
        for status, reached in steps:
            move(server, number, status)
            delays.append(within(5, lambda reached=reached: reached(latest())))
        print("RT change → Escalade incident: " + ", ".join(f"{d:.2f} s" for d in delays))
        assert list(found.get().timeline.order_by("id").values_list("kind", flat=True)) == [
            "created", "acknowledged", "paused", "resumed", "resolved", "reopened"]
    finally:
        server.stop()
