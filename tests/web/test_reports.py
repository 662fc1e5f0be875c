"""Reports: per month, customer and priority, computed in SQL; the CSV says what the table says."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from .support import log_in, make_incident

M = timedelta(minutes=1)


@pytest.fixture
def history(world):
    # Twenty high incidents of customer A (GTR), all opened 10 h ago: taken in charge after 5, 10, …,
    # 100 minutes (30 min target: 6 met), resolved after 100, 120, …, 480 minutes (4 h target: 8 met).
    for i in range(20):
        make_incident(f"REQ-3{i:03d}", "client-a", "high", 600 * M,
                      acknowledged_at=(600 - 5 * (i + 1)) * M, resolved_at=(600 - 100 - 20 * i) * M)
    # Two medium incidents of customer B, breached for 3 h, each escalated to level 1.
    from escalade.escalations.services import request_escalation

    for number in ("REQ-4001", "REQ-4002"):
        make_incident(number, "client-b", "medium", 300 * M)
        request_escalation(user=world.users["staff"], request_number=number, reason="x", now=timezone.now())


def rows_of(response):
    return {(r.customer_code, r.priority): r for r in response.context["rows"]}


def test_the_table_counts_commitments_met_escalations_means_and_95th_percentiles(history, login,
                                                                                 django_assert_max_num_queries):
    client = login("staff")
    with django_assert_max_num_queries(12):
        response = client.get("/rapports/")
    rows = rows_of(response)
    high = rows[("client-a", "high")]
    assert high.incidents == 20
    assert high.take_charge_met_pct == 30.0 and high.resolution_met_pct == 40.0
    taken = np.arange(5, 101, 5)
    resolved = np.arange(100, 481, 20)
    assert high.take_charge_mean_min == pytest.approx(taken.mean(), abs=0.1)
    assert high.take_charge_p95_min == pytest.approx(np.percentile(taken, 95), abs=0.1)
    assert high.resolution_mean_min == pytest.approx(resolved.mean(), abs=0.1)
    assert high.resolution_p95_min == pytest.approx(np.percentile(resolved, 95), abs=0.1)
    assert high.escalations == (0, 0, 0)
    medium = rows[("client-b", "medium")]
    assert medium.incidents == 2 and medium.escalations == (2, 0, 0)
    assert medium.take_charge_met_pct == 0.0 and medium.take_charge_mean_min is None
    page = response.content.decode()
    assert page.count('<svg class="chart"') == 2 and "<table class=\"report\">" in page


def test_the_csv_matches_the_table(history, login):
    client = login("staff")
    rows = client.get("/rapports/", {"months": "1"}).context["rows"]
    response = client.get("/rapports.csv", {"months": "1"})
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(lines) == len(rows) == 2
    for line, row in zip(lines, rows, strict=True):
        assert line["customer"] == row.customer_code and line["priority"] == row.priority
        assert int(line["incidents"]) == row.incidents
        assert line["take_charge_met_pct"] == str(row.take_charge_met_pct)
        assert line["resolution_met_pct"] == ("" if row.resolution_met_pct is None else str(row.resolution_met_pct))
        assert [int(line[f"escalations_level_{n}"]) for n in (1, 2, 3)] == list(row.escalations)
        assert line["take_charge_p95_minutes"] == ("" if row.take_charge_p95_min is None
                                                   else str(row.take_charge_p95_min))


def test_reports_are_for_staff_only(history, login):
    for role in ("customer_a", "partner_a"):
        assert login(role).get("/rapports.csv").status_code == 404


def test_the_demo_data_gives_a_table_charts_and_the_same_csv(db, settings):
    from django.core.management import call_command
    from django.test import Client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", stdout=io.StringIO())
    client = Client()
    assert log_in(client, "support", "demo-support")
    response = client.get("/rapports/", {"months": "3"})
    rows = response.context["rows"]
    assert len(rows) >= 4 and {r.customer_code for r in rows} == {"acme", "globex"}
    assert sum(sum(r.escalations) for r in rows) >= 1
    assert response.content.decode().count('<svg class="chart"') == 2
    lines = list(csv.DictReader(io.StringIO(client.get("/rapports.csv", {"months": "3"}).content.decode())))
    assert [(ln["customer"], ln["priority"], int(ln["incidents"])) for ln in lines] == [
        (r.customer_code, r.priority, r.incidents) for r in rows
    ]


def test_months_are_the_policys_months_whatever_the_servers_default_zone(world, settings):
    """An incident opened on 1 May at 00:30 in Paris (30 April, 22:30 UTC) is one of May's."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from escalade.incidents.models import Incident
    from escalade.incidents.services import IncidentInput, upsert_incident
    from escalade.reports import compute as reports

    settings.TIME_ZONE = "UTC"
    opened = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)
    upsert_incident(IncidentInput(request_number="REQ-5001", customer="client-a", priority="high",
                                  opened_at=opened.isoformat()),
                    user=None, channel="api", now=opened + timedelta(hours=1))
    [row] = reports.report(Incident.objects.all(), opened + timedelta(hours=1), (1, 2, 3))
    paris = row.month.astimezone(ZoneInfo("Europe/Paris"))
    assert (paris.year, paris.month, paris.day, paris.hour) == (2026, 5, 1, 0)


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"])
def test_the_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas(world, login, name):
    """A customer named like a formula is written as text (CSV injection)."""
    world.customer_a.name = name
    world.customer_a.save()
    make_incident("REQ-6001", "client-a", "high", 45 * M)
    text = login("staff").get("/rapports.csv").content.decode("utf-8")
    [row] = [r for r in csv.reader(io.StringIO(text)) if r and r[1] == "client-a"]
    assert row[2] == "'" + name


def test_postgresql_reads_the_incidents_once_for_counts_means_and_percentiles(history):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from escalade.incidents.models import Incident
    from escalade.reports import compute as reports

    with CaptureQueriesContext(connection) as queries:
        rows = reports.report(Incident.objects.all(), timezone.now(), (1, 2, 3))
    from_incidents = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("SELECT")
                      and 'FROM "incidents_incident"' in q["sql"] and "escalations_escalation" not in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(from_incidents) == 1 and "PERCENTILE_CONT" in from_incidents[0]
    else:  # SQLite: the percentiles from window functions, one more read each
        assert len(from_incidents) == 3
    high = next(r for r in rows if r.priority == "high")
    assert high.take_charge_p95_min is not None and high.resolution_p95_min is not None


def test_the_charts_sum_each_month_and_the_table_shows_a_page_at_a_time(history, login, monkeypatch):
    from escalade.web import views

    monkeypatch.setattr(views, "REPORT_PAGE_ROWS", 1)
    client = login("staff")
    first = client.get("/rapports/", {"months": "3"})
    assert [r.priority for r in first.context["rows"]] == ["high"] and first.context["total_rows"] == 2
    html = first.content.decode()
    assert "page 1 sur 2" in html and 'rel="next"' in html and "months=3&amp;page=2" in html
    assert html.count('class="label">') == 2  # one bar label per month and chart, not one per row
    second = client.get("/rapports/", {"months": "3", "page": "2"})
    assert [r.priority for r in second.context["rows"]] == ["medium"] and 'rel="prev"' in second.content.decode()
    [month] = __import__("escalade.reports.compute", fromlist=["by_month"]).by_month(
        list(first.context["page"].paginator.object_list))
    assert month.incidents == 22 and month.escalations == (2, 0, 0)
    assert month.take_charge_met_pct == round(100 * 6 / 22, 1)  # 6 met of 20 high and 2 breached medium


def test_the_page_writes_durations_in_hours_and_minutes_one_percent_format_and_marks_this_month(history, login):
    client = login("staff")
    response = client.get("/rapports/", {"months": "1"})
    high = rows_of(response)[("client-a", "high")]
    html = response.content.decode()
    # 20 high incidents: resolved after 100 … 480 minutes, a mean of 290 minutes
    assert high.resolution_mean_min == 290.0 and "<td class=\"num\">4 h 50</td>" in html
    assert "<td class=\"num\">30,0 %</td>" in html and "<td class=\"num\">40,0 %</td>" in html
    assert "(en cours)</td>" in html  # the current month's figures are partial
    assert html.count('aria-labelledby="chart-met"') == 1 and html.count('aria-labelledby="chart-escalations"') == 1
    assert '<title id="chart-met">' in html and "30,0 %" in html.split('id="chart-met"')[1]
    for level in (1, 2, 3):
        assert f"Escalades niveau {level}</th>" in html  # the policy's levels, not N1/N2/N3 written in


def test_the_spreadsheet_export_opens_right_in_french_excel(history, login):
    response = login("staff").get("/rapports.csv", {"months": "1", "format": "tableur"})
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8 only with a BOM
    lines = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert lines[0][:7] == ["Mois", "Code client", "Client", "Priorité", "Incidents",
                            "Prise en charge respectée (%)", "Résolution respectée (%)"]
    high = next(line for line in lines[1:] if line[1] == "client-a")
    assert high[0].endswith("(en cours)") and high[3] == "élevé" and high[4] == "20"
    assert high[5] == "30" and high[6] == "40"  # whole numbers without a decimal part
    assert high[10] == "52,5"  # the take-charge mean (5 … 100 minutes), with a decimal comma
    assert high[12] == "290"  # the resolution mean, in minutes: a number the spreadsheet can add up
