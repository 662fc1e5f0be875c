"""`escalade demo --incidents N --open M`: data at scale that the rest of the product accepts as its
own — the core's deadlines, sealed timelines, every past crossing recorded, nothing to send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError
from django.db import connection

from escalade.core.escalation import evaluate
from escalade.escalations.models import Escalation
from escalade.incidents.audit import verify
from escalade.incidents.models import Customer, Incident, IncidentPause, TimelineEvent
from escalade.notifications.models import Notification
from escalade.ops import generate as generate_module
from escalade.ops.generate import generate
from escalade.policies import file_policy
from escalade.worker import Watcher

from .support import run

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # Friday noon in Paris


def test_the_mix_has_every_state_and_the_cores_deadlines():
    made = generate(600, 60, 12, NOW)
    assert (made.incidents, made.open) == (600, 60)
    assert Incident.objects.filter(resolved_at__isnull=True).count() == 60
    assert Customer.objects.filter(code__startswith="gen-c").count() == 12
    statuses = set(Incident.objects.values_list("status", flat=True))
    assert {"open", "acknowledged", "resolved"} <= statuses
    assert IncidentPause.objects.exists() and Escalation.objects.exists()
    assert set(Incident.objects.values_list("priority", flat=True)) == set(file_policy().priorities)
    policy = file_policy()
    for incident in Incident.objects.prefetch_related("pauses").order_by("?")[:50]:
        evaluation = evaluate(policy, incident.facts(), NOW)
        assert incident.take_charge_due_at == evaluation.commitments.take_charge.due_at
        assert incident.allowed_level == evaluation.escalation.level
    assert Escalation.objects.filter(incident__escalated_level=0).count() == 0


def test_the_timelines_verify_and_the_worker_finds_nothing_to_catch_up():
    generate(300, 40, 5, NOW)
    reports = list(verify(Incident.objects.all()))
    assert len(reports) == 300 and not [r for r in reports if r.broken]
    assert TimelineEvent.objects.exclude(crossing_key="").exists()  # past crossings are recorded
    assert not Notification.objects.exists()  # the past sends nothing
    report = Watcher(lambda: NOW).tick()
    assert report.crossings == [] and report.alerts == 0


def test_a_second_run_adds_after_the_first():
    generate(120, 10, 3, NOW)
    generate(120, 10, 3, NOW)
    assert Incident.objects.count() == 240
    assert Incident.objects.filter(request_number="GEN-240").exists()


def test_the_command_reports_what_it_made(settings):
    settings.DEV = True
    out = run("demo", "--incidents", "200", "--open", "20", "--customers", "4")
    assert "200 incidents générés (20 ouverts" in out and "pour 4 clients" in out


def test_more_open_than_incidents_is_refused(settings):
    settings.DEV = True
    with pytest.raises(CommandError, match="0 ≤ M ≤ N"):
        run("demo", "--incidents", "10", "--open", "20")


def test_open_incidents_were_opened_in_the_last_three_days():
    generate(200, 50, 3, NOW)
    oldest_open = Incident.objects.filter(resolved_at__isnull=True).order_by("opened_at").first()
    assert oldest_open is not None and oldest_open.opened_at >= NOW - timedelta(days=3, seconds=1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="processes side by side write to PostgreSQL only")
def test_processes_side_by_side_write_the_data_set_one_process_writes(monkeypatch):
    monkeypatch.setattr(generate_module, "BATCH", 100)  # three batches for two processes
    generate(300, 30, 4, NOW)
    made = generate(300, 30, 4, NOW, jobs=2)  # GEN-301…GEN-600

    assert (made.incidents, made.open) == (300, 30)

    def run_of(first: int) -> list[tuple[object, ...]]:
        rows = Incident.objects.filter(request_number__startswith="GEN-").values_list(
            "request_number", "customer__code", "priority", "track", "opened_at", "acknowledged_at", "resolved_at",
            "escalated_level", "next_change_at")
        return sorted((int(n[4:]) - first, *rest) for n, *rest in rows if first < int(n[4:]) <= first + 300)

    assert run_of(300) == run_of(0)
    kinds = TimelineEvent.objects.filter(incident__request_number__startswith="GEN-").values_list(
        "incident__request_number", "kind")
    assert (sorted(k for n, k in kinds if int(n[4:]) > 300) == sorted(k for n, k in kinds if int(n[4:]) <= 300))
    assert all(report.broken is None for report in verify(Incident.objects.all()))
