"""`escalade import`: CSV or JSON Lines, every row checked first, bad rows reported by line number,
nothing half-imported; 100,000 rows with a progress bar."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from escalade.incidents.models import Incident, TimelineEvent

pytestmark = pytest.mark.django_db

HEADER = "request_number,customer,priority,track,gtr,opened_at,acknowledged_at,resolved_at,title"


def opened(minutes_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def csv_rows(n: int, start: int = 1) -> list[str]:
    rows = []
    for i in range(start, start + n):
        ack = opened(i % 500) if i % 3 == 0 else ""
        rows.append(f"IMP-{i},{'client-a' if i % 2 else 'client-b'},{('low', 'medium', 'high')[i % 3]},"
                    f"{'production' if i % 7 == 0 else ''},,{opened(i % 1000 + 600)},{ack},,Incident {i}")
    return rows


def run_import(path: Path, *extra: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_incidents", str(path), *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_csv_rows_are_created_with_their_timeline_and_deadlines(world, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text("\n".join([HEADER, *csv_rows(30)]) + "\n", encoding="utf-8")
    out, err = run_import(path)
    assert "30 incident(s) créé(s), 0 mis à jour" in out
    assert "Import [" in err and "100%" in err
    incident = Incident.objects.get(request_number="IMP-7")
    assert incident.track == "production" and incident.gtr is True  # client A's contract
    assert incident.take_charge_due_at is not None and incident.evaluated_at is not None
    assert Incident.objects.get(request_number="IMP-2").gtr is False
    assert TimelineEvent.objects.filter(kind="created").count() == 30
    assert TimelineEvent.objects.filter(kind="acknowledged", channel="import").count() == 10


def test_json_lines_update_existing_incidents(world, tmp_path):
    path = tmp_path / "incidents.jsonl"
    row = {"request_number": "REQ-1042", "customer": "client-a", "priority": "high",
           "opened_at": opened(120)}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    run_import(path)
    path.write_text(json.dumps({**row, "priority": "medium", "acknowledged_at": opened(60)}) + "\n\n")
    out, _ = run_import(path, "--no-progress")
    assert "0 incident(s) créé(s), 1 mis à jour" in out
    incident = Incident.objects.get(request_number="REQ-1042")
    assert (incident.priority, incident.status) == ("medium", "acknowledged")
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds.count("priority_changed") == 1 and "acknowledged" in kinds


def test_reimporting_two_thousand_rows_updates_them_all(world, tmp_path):
    path = tmp_path / "x.csv"
    rows = csv_rows(2000)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    run_import(path, "--no-progress")
    changed = [r.replace(",low,", ",medium,").replace("Incident", "Incident révisé") for r in rows]
    path.write_text("\n".join([HEADER, *changed]) + "\n", encoding="utf-8")
    out, _ = run_import(path, "--no-progress")
    assert "0 incident(s) créé(s), 2000 mis à jour" in out
    assert not Incident.objects.filter(priority="low").exists()
    assert Incident.objects.filter(title__startswith="Incident révisé").count() == 2000
    assert TimelineEvent.objects.filter(kind="priority_changed").count() == 666
    medium = Incident.objects.get(request_number="IMP-3")  # was low: now 2 h on 24/7
    assert medium.take_charge_due_at == medium.opened_at + timedelta(hours=2)


def test_a_file_of_several_batches_is_written_whole_with_every_chain_sealed(world, tmp_path):
    from escalade.incidents.audit import verify

    path = tmp_path / "x.csv"
    path.write_text("\n".join([HEADER, *csv_rows(2500)]) + "\n", encoding="utf-8")
    out, _ = run_import(path, "--no-progress")
    assert "2500 incident(s) créé(s)" in out
    assert Incident.objects.count() == 2500 and not Incident.objects.filter(evaluated_at__isnull=True).exists()
    assert TimelineEvent.objects.filter(kind="created").count() == 2500
    reports = list(verify(Incident.objects.all()))
    assert len(reports) == 2500 and all(report.broken is None for report in reports)


def test_a_batch_that_fails_to_be_written_leaves_nothing_written(world, tmp_path, monkeypatch):
    """The third write (the second batch's incidents) fails: the error reaches the command and the
    first batch, already written, is rolled back with the rest."""
    from escalade import bulk

    calls = []
    rows = bulk._rows

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disque plein")
        return rows(*args, **kwargs)

    monkeypatch.setattr(bulk, "_rows", failing)
    path = tmp_path / "x.csv"
    path.write_text("\n".join([HEADER, *csv_rows(2500)]) + "\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disque plein"):
        run_import(path, "--no-progress")
    assert not Incident.objects.exists() and not TimelineEvent.objects.exists()


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(world, tmp_path):
    rows = csv_rows(10)
    rows[2] = "IMP-3,client-a,urgent,,,2026-11-27T10:00:00+01:00,,,"  # line 4
    rows[5] = "IMP-6,client-a,high,,,2026-11-27T10:00:00,,,"  # line 7: no offset
    rows[7] = "IMP-8,client-z,high,,,2026-11-27T10:00:00+01:00,,,"  # line 9
    rows.append("IMP-1,client-a,high,,,2026-11-27T10:00:00+01:00,,,")  # line 12: repeated
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="4 ligne\\(s\\) en erreur sur 11 : rien n'a été importé"):
        run_import(path)
    assert not Incident.objects.exists()


def test_the_error_report_names_each_line(world, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    good = {"request_number": "REQ-1", "customer": "client-a", "priority": "high", "opened_at": opened(10)}
    lines = [json.dumps(good), "{pas du json", json.dumps({**good, "request_number": "REQ-2", "gtr": "peut-être"}),
             json.dumps({**good, "request_number": None})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_incidents", str(path), "--no-progress", stderr=err)
    report = err.getvalue().splitlines()
    assert report[0].startswith("ligne 2 : JSON illisible")
    assert report[1].startswith("ligne 3 (REQ-2) : « gtr » doit valoir true ou false")
    assert report[2] == "ligne 4 : Le numéro de requête de l'incident est obligatoire."


def test_too_long_titles_and_nul_characters_are_row_errors(world, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(f"{HEADER}\nREQ-1,client-a,high,,,{opened(30)},,,{'T' * 301}\n"
                    f"REQ-2,client-a,high,,,{opened(30)},,,a\x00b\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 ligne"):
        call_command("import_incidents", str(path), "--no-progress", stderr=err)
    assert "ligne 2 (REQ-1) : Le titre dépasse 300 caractères." in err.getvalue()
    assert "ligne 3 (REQ-2)" in err.getvalue()


def test_a_file_without_the_required_columns_is_refused(world, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("number,client\nREQ-1,client-a\n", encoding="utf-8")
    with pytest.raises(CommandError, match="colonnes obligatoires absentes"):
        run_import(path)


def test_an_incident_cannot_move_to_another_customer_by_import(world, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(f"{HEADER}\nREQ-1,client-a,high,,,{opened(30)},,,\n", encoding="utf-8")
    run_import(path)
    path.write_text(f"{HEADER}\nREQ-1,client-b,high,,,{opened(30)},,,\n", encoding="utf-8")
    with pytest.raises(CommandError):
        run_import(path)
    assert Incident.objects.get().customer.code == "client-a"


def test_dry_run_checks_without_importing(world, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("\n".join([HEADER, *csv_rows(5)]) + "\n", encoding="utf-8")
    out, _ = run_import(path, "--dry-run")
    assert "5 ligne(s) valides" in out
    assert not Incident.objects.exists()


@pytest.mark.slow
def test_one_hundred_thousand_rows_import_with_a_progress_bar(world, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("\n".join([HEADER, *csv_rows(100_000)]) + "\n", encoding="utf-8")
    out, err = run_import(path)
    assert "100000 incident(s) créé(s)" in out
    assert err.count("Vérification [") >= 10 and err.count("Import [") >= 10
    assert Incident.objects.count() == 100_000
    assert not Incident.objects.filter(evaluated_at__isnull=True).exists()


@pytest.mark.slow
def test_bad_rows_among_one_hundred_thousand_are_found_by_line(world, tmp_path):
    rows = csv_rows(100_000)
    rows[49_999] = rows[49_999].replace(",high,", ",critique,").replace(",medium,", ",critique,").replace(",low,", ",critique,")
    rows[99_998] = "IMP-99999,client-a,high,,,hier,,,"
    path = tmp_path / "big.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 ligne\\(s\\) en erreur sur 100000"):
        call_command("import_incidents", str(path), stderr=err, stdout=io.StringIO())
    report = [line for line in err.getvalue().splitlines() if line.startswith("ligne")]
    assert [line.split(" ")[1] for line in report] == ["50001", "100000"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("huge-field.csv", f"{HEADER}\nREQ-1,client-a,high,,,{opened(30)},,,\"{'T' * 140_000}\"\n", "ligne 2 : CSV illisible"),
    ("deep.jsonl", '{"title": ' + "[" * 200_000 + "]" * 200_000 + "}\n", "ligne 1 : JSON trop imbriqué"),
    ("big-number.jsonl", '{"request_number": "REQ-1", "customer": "client-a", "priority": "high", "gtr": '
     + "9" * 6000 + "}\n", "ligne 1 : nombre trop long"),
])
def test_hostile_files_are_line_errors_and_nothing_is_written(world, tmp_path, name, content, expected):
    """A field over 131,072 characters, JSON Lines nested 200,000 deep, a 6,000-digit integer: each
    crashed the import with a traceback."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_incidents", str(path), "--no-progress", stderr=err, stdout=io.StringIO())
    assert expected in err.getvalue()
    assert not Incident.objects.exists()


def test_a_duplicated_column_is_refused_rather_than_silently_keeping_the_last(world, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text(f"{HEADER},priority\nREQ-1,client-a,high,,,{opened(30)},,,titre,low\n", encoding="utf-8")
    with pytest.raises(CommandError, match="colonnes en double : priority"):
        call_command("import_incidents", str(path), "--no-progress", stderr=io.StringIO(), stdout=io.StringIO())
    assert not Incident.objects.exists()
