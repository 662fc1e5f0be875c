"""Sealed months: the same rows as the incidents give, read back while nothing changed, and read from
the incidents again as soon as anything the report reads changes, however it is written."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PARIS = ZoneInfo("Europe/Paris")
LEVELS = (1, 2, 3)
M = timedelta(minutes=1)
# A fixed "now" (policy's zone): 15 March 2026; the sealed month under test is January 2026.
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=PARIS)
JANUARY = datetime(2026, 1, 1, tzinfo=PARIS)
EXAMPLES = itertools.count()


def make(number: str, customer: str, priority: str, opened: datetime, *, ack: timedelta | None = None,
         resolved: timedelta | None = None):
    """An incident through the services, with its facts given as delays after its opening."""
    from escalade.incidents.services import IncidentInput, upsert_incident

    incident, _ = upsert_incident(
        IncidentInput(request_number=number, customer=customer, priority=priority, opened_at=opened.isoformat(),
                      acknowledged_at=(opened + ack).isoformat() if ack is not None else None,
                      resolved_at=(opened + resolved).isoformat() if resolved is not None else None),
        user=None, channel="api", now=NOW)
    return incident


def live(now: datetime = NOW, months: int = 3):
    """The report computed from the incidents alone, as before any month was sealed."""
    from escalade.incidents.models import Incident
    from escalade.reports import compute, summary

    first = summary.months(now, months, PARIS)[0].starts_at
    return compute.report(Incident.objects.filter(opened_at__gte=first), now, LEVELS)


def report(now: datetime = NOW, months: int = 3):
    from escalade.reports import summary

    return summary.report(now, months, PARIS, LEVELS)


def sealed_months() -> list[datetime]:
    from escalade.reports import summary

    return sorted(summary._valid_seals(summary.months(NOW, 12, PARIS)))


@pytest.fixture
def january(world):
    """January 2026 in Paris: twenty high incidents of customer A taken in charge after 5 … 100 min
    (30 min target) and resolved after 100 … 480 min, two medium ones of customer B, one escalated;
    one incident opened on 31 December at 23:30 in Paris (22:30 UTC), which is December's."""
    from escalade.escalations.services import request_escalation

    for i in range(20):
        make(f"REQ-1{i:03d}", "client-a", "high", JANUARY + timedelta(days=2 + i),
             ack=5 * (i + 1) * M, resolved=(100 + 20 * i) * M)
    make("REQ-2001", "client-b", "medium", JANUARY + timedelta(days=12, hours=9), ack=10 * M, resolved=2 * 60 * M)
    late = make("REQ-2002", "client-b", "medium", JANUARY + timedelta(days=20), ack=10 * M)
    request_escalation(user=world.users["staff"], request_number="REQ-2002", reason="Panne toujours là",
                       now=late.resolution_due_at + timedelta(hours=1))
    from escalade.incidents.services import apply_event

    apply_event(late, "resolve", user=None, channel="api", now=NOW, at=late.resolution_due_at + timedelta(hours=3))
    make("REQ-3001", "client-a", "high", datetime(2025, 12, 31, 23, 30, tzinfo=PARIS), ack=10 * M, resolved=60 * M)


def test_a_sealed_month_gives_the_rows_the_incidents_give(january, django_assert_max_num_queries):
    from escalade.reports import summary

    before = live()
    assert summary.seal_ended(NOW, PARIS) == 12  # January, February and ten empty months before
    assert JANUARY in sealed_months()
    with django_assert_max_num_queries(6):  # seals, sealed rows, this month (SQLite: +2 percentiles)
        rows = report()
    assert rows == before
    [high] = [r for r in rows if r.month == JANUARY and r.priority == "high"]
    assert (high.incidents, high.take_charge_met_pct, high.escalations) == (20, 30.0, (0, 0, 0))
    [medium] = [r for r in rows if r.month == JANUARY and r.priority == "medium"]
    assert medium.escalations == (1, 0, 0) and medium.resolution_met == 1 and medium.resolution_judged == 2


def test_the_report_reads_a_constant_number_of_queries_whatever_the_months(january, django_assert_max_num_queries):
    from escalade.reports import summary

    summary.seal_ended(NOW, PARIS)
    for months in (1, 3, 12):
        with django_assert_max_num_queries(7):  # seals, sealed rows, this month's groups (SQLite: percentiles)
            report(months=months)


def test_this_month_and_a_month_with_an_open_incident_are_not_sealed(january):
    from escalade.reports import summary

    make("REQ-4001", "client-a", "high", datetime(2026, 2, 3, 9, 0, tzinfo=PARIS))  # February: still open
    summary.seal_ended(NOW, PARIS)
    months = sealed_months()
    assert JANUARY in months
    assert datetime(2026, 2, 1, tzinfo=PARIS) not in months and datetime(2026, 3, 1, tzinfo=PARIS) not in months
    assert report() == live()


def changes():
    """Every way the report's figures of January can change after it was sealed."""
    from escalade.escalations.services import request_escalation
    from escalade.incidents.models import Incident
    from escalade.incidents.services import apply_event

    def reopen(world):
        incident = Incident.objects.get(request_number="REQ-1000")
        apply_event(incident, "reopen", user=None, channel="api", now=NOW)

    def new_priority(world):
        incident = Incident.objects.get(request_number="REQ-1001")
        apply_event(incident, "change_priority", priority="low", user=None, channel="api", now=NOW)

    def backdated_incident(world):  # a late import of an incident of January
        make("REQ-5001", "client-b", "low", JANUARY + timedelta(days=25), ack=5 * M, resolved=30 * M)

    def escalation(world):
        incident = Incident.objects.get(request_number="REQ-1002")
        apply_event(incident, "reopen", user=None, channel="api", now=NOW - timedelta(days=1))
        request_escalation(user=world.users["staff"], request_number="REQ-1002", reason="Toujours en panne", now=NOW)

    def sql_update(world):  # whatever writes: the database counts the change, not the services
        Incident.objects.filter(request_number="REQ-1003").update(acknowledged_at=JANUARY + timedelta(days=5, hours=9))

    def moved_in_time(world):  # an incident of December corrected into January
        Incident.objects.filter(request_number="REQ-3001").update(opened_at=JANUARY + timedelta(hours=2))

    return [reopen, new_priority, backdated_incident, escalation, sql_update, moved_in_time]


@pytest.mark.parametrize("change", changes(), ids=lambda c: c.__name__)
def test_any_change_the_report_reads_unseals_the_month_and_the_report_follows(january, world, change):
    from escalade.reports import summary

    summary.seal_ended(NOW, PARIS)
    sealed_before = report()
    change(world)
    assert JANUARY not in sealed_months()
    assert report() == live() != sealed_before
    from escalade.incidents.models import Incident

    summary.seal_ended(NOW, PARIS)  # the worker's next sealing: again, unless the change left January open
    still_open = Incident.objects.filter(resolved_at__isnull=True, opened_at__lt=datetime(2026, 2, 1, tzinfo=PARIS))
    assert (JANUARY in sealed_months()) is not still_open.exists()
    assert report() == live()


def test_what_the_report_does_not_read_leaves_the_month_sealed(january):
    """The worker's cached evaluation and a title are written often: they move no counter."""
    from escalade.incidents.models import Incident
    from escalade.reports import summary

    summary.seal_ended(NOW, PARIS)
    january_incidents = Incident.objects.filter(opened_at__gte=JANUARY, opened_at__lt=datetime(2026, 2, 1, tzinfo=PARIS))
    january_incidents.update(title="Renommé", next_change_at=None, evaluated_at=NOW.astimezone(UTC))
    for incident in january_incidents:
        incident.save()  # a save rewrites every column with the same values
    assert JANUARY in sealed_months()


def test_the_counting_triggers_exist_after_every_migration(db):
    """SQLite drops a table's triggers when a migration rebuilds it: `migrate` puts them back."""
    from django.core.management import call_command

    from escalade.reports import triggers

    assert triggers.installed(connection) == set(triggers.NAMES)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER reports_incident_changed")
        call_command("migrate", verbosity=0)
        assert triggers.installed(connection) == set(triggers.NAMES)


def test_the_worker_seals_ended_months_once_an_hour(january, monkeypatch):
    from escalade import worker
    from escalade.reports import summary

    calls = []
    monkeypatch.setattr(summary, "seal_ended", lambda now, zone: calls.append(now) or 0)
    watcher = worker.Watcher(clock=lambda: NOW)
    watcher.seal_reports()
    watcher.seal_reports()
    assert calls == [NOW]
    watcher.last_seal -= worker.SEAL_EVERY
    watcher.seal_reports()
    assert calls == [NOW, NOW]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_sealing_a_month_first_waits_for_writers_already_under_way(january):
    """A transaction that wrote an incident before the month's counters existed bumped none: the
    month is sealed only once it has committed (here it never does in time: not sealed)."""
    import psycopg
    from django.conf import settings as django_settings

    from escalade.reports import summary

    database = django_settings.DATABASES["default"]
    other = psycopg.connect(host=database["HOST"], port=database["PORT"] or 5432, user=database["USER"],
                            dbname=connection.settings_dict["NAME"])
    try:
        other.execute("LOCK TABLE incidents_incident IN ROW EXCLUSIVE MODE")  # as any INSERT or UPDATE does
        assert summary.seal(summary.Month(JANUARY, datetime(2026, 2, 1, tzinfo=PARIS)), NOW) is None
    finally:
        other.rollback()
        other.close()
    assert summary.seal(summary.Month(JANUARY, datetime(2026, 2, 1, tzinfo=PARIS)), NOW) is not None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sealed_or_not_the_report_is_the_one_the_incidents_give(world, data):
    """Random incidents over four months, sealed, then random changes: always the live rows."""
    from escalade.incidents.models import Incident
    from escalade.reports import summary

    example = next(EXAMPLES)  # the examples share the test's database: numbers of their own
    start = datetime(2025, 12, 1, tzinfo=PARIS)
    count = data.draw(st.integers(1, 12))
    for i in range(count):
        opened = start + timedelta(minutes=data.draw(st.integers(0, 100 * 24 * 60)))
        if opened >= NOW - timedelta(days=2):
            continue
        ack = data.draw(st.one_of(st.none(), st.integers(1, 600)))
        make(f"REQ-9{example:03d}{i:02d}", data.draw(st.sampled_from(["client-a", "client-b"])),
             data.draw(st.sampled_from(["high", "medium", "low"])), opened,
             ack=None if ack is None else ack * M,
             resolved=None if ack is None or data.draw(st.booleans()) else (ack + 30) * M)
    summary.seal_ended(NOW, PARIS)
    assert report(months=6) == live(months=6)
    for incident in Incident.objects.filter(request_number__startswith=f"REQ-9{example:03d}", resolved_at__isnull=False)[:3]:
        if data.draw(st.booleans()):
            Incident.objects.filter(pk=incident.pk).update(resolved_at=incident.resolved_at + timedelta(hours=9))
    assert report(months=6) == live(months=6)
