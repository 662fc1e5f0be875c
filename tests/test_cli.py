"""`escalade evaluate` (SPEC §2) through `escalade.cli.main([...])`, and once as a real process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from escalade import cli
from escalade.policies import policy_text

AT = "2026-11-27T10:45:00+01:00"
ESCALADE = Path(sys.executable).with_name("escalade")

SPEC_INPUT = """{"request_number": "REQ-1042", "priority": "high", "gtr": true, "track": "support",
 "opened_at": "2026-11-27T10:00:00+01:00", "acknowledged_at": null, "resolved_at": null,
 "pauses": [{"start": "2026-11-27T10:10:00+01:00", "end": "2026-11-27T10:30:00+01:00"}]}"""

SPEC_OUTPUT = """{"request_number": "REQ-1042", "priority": "high", "evaluated_at": "2026-11-27T10:45:00+01:00",
 "commitments": {
   "take_charge": {"target_minutes": 30, "clock": "24/7", "due_at": "2026-11-27T10:30:00+01:00",
                   "stopped_at": null, "state": "breached", "overdue_minutes": 15},
   "resolution":  {"target_minutes": 240, "clock": "24/7", "due_at": "2026-11-27T14:20:00+01:00",
                   "stopped_at": null, "state": "running", "overdue_minutes": 0}},
 "escalation": {"allowed": false, "level": 0, "reason": "threshold_not_reached",
                "message": "…", "eligible_at": "2026-11-27T11:00:00+01:00", "next_level_at": null,
                "contacts": []}}"""


def incident(number: str | None = "REQ-1042", **fields: object) -> dict[str, object]:
    raw: dict[str, object] = {"priority": "high", "opened_at": "2026-11-27T10:00:00+01:00"}
    if number is not None:
        raw["request_number"] = number
    raw.update(fields)
    return raw


def jsonl(*docs: dict[str, object]) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def evaluate(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: str,
    *args: str,
) -> tuple[int, list[dict[str, Any]], str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(["evaluate", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture(autouse=True)
def _default_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESCALADE_POLICY", raising=False)


# -- the SPEC's example, streaming --------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [["--jobs", "1"], []], ids=["one-process", "default-jobs"])
def test_spec_example_answered_field_for_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, jobs: list[str]
) -> None:
    code, lines, _ = evaluate(capsys, monkeypatch, SPEC_INPUT, "--at", AT, *jobs)
    assert code == 0
    (got,) = lines
    expected = json.loads(SPEC_OUTPUT)
    assert got["escalation"].pop("message")
    expected["escalation"].pop("message")
    assert got == expected


@pytest.mark.parametrize("jobs", [["--jobs", "1"], [], ["--jobs", "2"]], ids=["one", "default", "two"])
def test_json_lines_three_in_three_out_in_order(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, jobs: list[str]
) -> None:
    stdin = jsonl(
        incident("REQ-1", priority="low"),
        incident("REQ-2", priority="medium"),
        incident("REQ-3", gtr=True),
    )
    code, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, *jobs)
    assert code == 0
    assert [(line["request_number"], line["priority"]) for line in lines] == [
        ("REQ-1", "low"),
        ("REQ-2", "medium"),
        ("REQ-3", "high"),
    ]
    assert [line["escalation"]["reason"] for line in lines] == [
        "priority_not_escalable",
        "no_commitment_exceeded",
        "threshold_not_reached",
    ]


def test_blank_lines_are_skipped(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = "\n" + jsonl(incident("REQ-1")) + "\n\n" + jsonl(incident("REQ-2"))
    code, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "1")
    assert (code, [line["request_number"] for line in lines]) == (0, ["REQ-1", "REQ-2"])


def test_input_from_a_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "incidents.jsonl"
    path.write_text(jsonl(incident("REQ-1"), incident("REQ-2")), encoding="utf-8")
    code, lines, _ = evaluate(capsys, monkeypatch, "", "--at", AT, "--jobs", "1", str(path))
    assert (code, len(lines)) == (0, 2)


def test_contacts_through_the_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = jsonl(
        incident("REQ-1", opened_at="2026-11-27T09:45:00+01:00"),
        incident("REQ-2", opened_at="2026-11-27T09:45:00+01:00", track="production"),
        incident("REQ-3", opened_at="2026-11-27T09:00:00+01:00"),
        incident("REQ-4", opened_at="2026-11-27T08:00:00+01:00"),
    )
    code, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "1")
    assert code == 0
    assert [line["escalation"]["contacts"] for line in lines] == [
        [{"level": 1, "name": "Support Technique", "role": "Escalade Support", "phones": ["+33426781067"], "email": "escalade@hipcom.fr"}],
        [{"level": 1, "name": "Adrien Bourdon", "role": "ADV", "phones": ["+33426780478"], "email": "adrien@hipcom.fr"}],
        [
            {
                "level": 2,
                "name": "Vincent BLUSSEAU",
                "role": "Responsable d'Exploitation",
                "phones": ["+33456406074", "+33695436826"],
                "email": "vincent@hipcom.fr",
            }
        ],
        [{"level": 3, "name": "Guillaume MASUIT", "role": "Directeur", "phones": ["+33456406000"], "email": "guillaume@hipcom.fr"}],
    ]
    assert [line["escalation"]["next_level_at"] for line in lines] == [
        "2026-11-27T11:15:00+01:00",
        "2026-11-27T11:15:00+01:00",
        "2026-11-27T11:30:00+01:00",
        None,
    ]


def test_facts_later_than_at_are_ignored(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = jsonl(
        incident(
            gtr=True,
            acknowledged_at="2026-11-27T11:00:00+01:00",
            pauses=[{"start": "2026-11-27T10:40:00+01:00", "end": "2026-11-27T11:00:00+01:00"}],
        )
    )
    code, (line,), _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "1")
    assert code == 0
    assert (line["commitments"]["take_charge"]["state"], line["commitments"]["take_charge"]["stopped_at"]) == (
        "breached",
        None,
    )
    assert (line["commitments"]["resolution"]["state"], line["commitments"]["resolution"]["due_at"]) == (
        "paused",
        None,
    )


# -- bad lines: an error line each, the run goes on, exit 1 ---------------------------------------------

BAD_LINES = [
    ("unknown_priority", incident("REQ-2", priority="urgent")),
    ("invalid_instant", incident("REQ-2", opened_at="2026-11-27 10h00")),
    ("naive_instant", incident("REQ-2", opened_at="2026-11-27T10:00:00")),
    ("acknowledged_before_opened", incident("REQ-2", acknowledged_at="2026-11-27T09:00:00+01:00")),
    ("resolved_before_opened", incident("REQ-2", resolved_at="2026-11-27T09:00:00+01:00")),
    ("opened_after_evaluation", incident("REQ-2", opened_at="2026-11-27T11:00:00+01:00")),
    (
        "overlapping_pauses",
        incident(
            "REQ-2",
            pauses=[
                {"start": "2026-11-27T10:05:00+01:00", "end": "2026-11-27T10:20:00+01:00"},
                {"start": "2026-11-27T10:15:00+01:00", "end": "2026-11-27T10:25:00+01:00"},
            ],
        ),
    ),
    ("request_number_required", incident(None)),
]


@pytest.mark.parametrize(("code", "bad"), BAD_LINES, ids=[c for c, _ in BAD_LINES])
def test_bad_line_gets_an_error_line_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, code: str, bad: dict[str, object]
) -> None:
    stdin = jsonl(incident("REQ-1"), bad, incident("REQ-3"))
    status, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "1")
    assert status == 1
    assert len(lines) == 3
    assert lines[0]["request_number"] == "REQ-1" and "commitments" in lines[0]
    assert lines[2]["request_number"] == "REQ-3" and "commitments" in lines[2]
    error = lines[1]
    assert set(error) == {"request_number", "error", "code"}
    assert error["code"] == code
    assert error["request_number"] == bad.get("request_number")
    assert isinstance(error["error"], str) and error["error"]


def test_every_bad_line_at_once_in_parallel(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = jsonl(incident("REQ-1"), *(bad for _, bad in BAD_LINES), incident("REQ-9"))
    status, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "2")
    assert status == 1
    assert [line.get("code") for line in lines] == [None, *(c for c, _ in BAD_LINES), None]


def test_missing_request_number_says_so_in_french(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, (line,), _ = evaluate(capsys, monkeypatch, jsonl(incident(None)), "--at", AT, "--jobs", "1")
    assert line == {
        "request_number": None,
        "error": "Le numéro de requête de l'incident est obligatoire.",
        "code": "request_number_required",
    }


def test_unreadable_json_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = jsonl(incident("REQ-1")) + "{not json\n" + jsonl(incident("REQ-3"))
    status, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "1")
    assert status == 1
    assert [line.get("code") for line in lines] == [None, "invalid_json", None]


def test_unreadable_first_json_line_does_not_swallow_the_others(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = "{not json\n" + jsonl(incident("REQ-2"), incident("REQ-3"))
    status, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "1")
    assert status == 1
    assert [line.get("code") for line in lines] == ["invalid_json", None, None]
    assert [line["request_number"] for line in lines] == [None, "REQ-2", "REQ-3"]


def test_one_document_spread_over_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = json.dumps(incident("REQ-1"), indent=2)
    status, lines, _ = evaluate(capsys, monkeypatch, stdin, "--at", AT, "--jobs", "1")
    assert (status, [line["request_number"] for line in lines]) == (0, ["REQ-1"])
    # The same document, broken: one error line.
    status, lines, _ = evaluate(capsys, monkeypatch, stdin[:-2], "--at", AT, "--jobs", "1")
    assert (status, [line["code"] for line in lines]) == (1, ["invalid_json"])


def test_empty_input_is_fine(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert evaluate(capsys, monkeypatch, "", "--at", AT)[:2] == (0, [])


# -- unusable arguments or policy: exit 2 -----------------------------------------------------------------


@pytest.mark.parametrize("at", ["demain", "2026-11-27T10:45:00", "27/11/2026"])
def test_unusable_at_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, at: str) -> None:
    code, lines, err = evaluate(capsys, monkeypatch, jsonl(incident()), "--at", at)
    assert (code, lines) == (2, [])
    assert "--at" in err


def test_missing_policy_file_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, lines, err = evaluate(capsys, monkeypatch, jsonl(incident()), "--at", AT, "--policy", str(tmp_path / "nope.toml"))
    assert (code, lines) == (2, [])
    assert "politique inutilisable" in err


def test_broken_policy_exits_2_with_the_field_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(policy_text().replace('["30min", "1h", "2h"]', '["30min", "2h", "1h"]'), encoding="utf-8")
    code, lines, err = evaluate(capsys, monkeypatch, jsonl(incident()), "--at", AT, "--policy", str(path))
    assert (code, lines) == (2, [])
    assert "priorities.high.escalation_thresholds[2]" in err


def test_policy_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "slower.toml"
    path.write_text(policy_text().replace('target = "30min"', 'target = "1h"'), encoding="utf-8")
    # The environment is read once, by escalade.settings, when the command starts.
    import os
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "escalade", "evaluate", "--at", AT, "--jobs", "1"],
        input=jsonl(incident()), capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "ESCALADE_POLICY": str(path), "DJANGO_SETTINGS_MODULE": "escalade.settings"},
    )
    line = json.loads(done.stdout)
    assert (done.returncode, line["commitments"]["take_charge"]["due_at"]) == (0, "2026-11-27T11:00:00+01:00")


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert evaluate(capsys, monkeypatch, "", "--when", AT)[0] == 2


def test_unreadable_input_file_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert evaluate(capsys, monkeypatch, "", "--at", AT, "--jobs", "1", str(tmp_path / "none.jsonl"))[0] == 2


# -- a real process ----------------------------------------------------------------------------------------


def test_escalade_evaluate_as_a_process() -> None:
    stdin = jsonl(incident("REQ-1"), incident("REQ-2", priority="urgent"), incident("REQ-3", priority="medium"))
    done = subprocess.run(
        [str(ESCALADE), "evaluate", "--at", AT],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["request_number"] for line in lines] == ["REQ-1", "REQ-2", "REQ-3"]
    assert lines[1]["code"] == "unknown_priority"
    assert "Django" not in done.stderr


def test_unusable_at_as_a_process() -> None:
    done = subprocess.run(
        [str(ESCALADE), "evaluate", "--at", "2026-11-27T10:45:00"],
        input=jsonl(incident()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert "décalage" in done.stderr


def test_parallel_evaluation_never_forks_a_process_running_other_threads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test runner or server calling `main` has threads; forking them can deadlock the child."""
    import threading

    from escalade.evaluate import parallel

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        path = tmp_path / "incidents.jsonl"
        path.write_text(jsonl(incident(), incident()), encoding="utf-8")
        with path.open(encoding="utf-8") as stream:
            assert not parallel.can_evaluate_file_parallel(stream, sys.stdout)
        code, parallel, _ = evaluate(capsys, monkeypatch, "", "--at", AT, "--jobs", "2", str(path))
        code_one, sequential, _ = evaluate(capsys, monkeypatch, "", "--at", AT, "--jobs", "1", str(path))
        assert (code, parallel) == (code_one, sequential)
    finally:
        stop.set()
        other.join()


@pytest.mark.parametrize(("typed", "runs"), [
    (["check", "REQ-1042"], ["check_incident", "REQ-1042"]),
    (["check", "REQ-1042", "--at", "2026-11-27T12:45:00+01:00"], ["check_incident", "REQ-1042", "--at",
                                                                 "2026-11-27T12:45:00+01:00"]),
    (["check"], ["check"]),
    (["check", "-v", "2"], ["check", "-v", "2"]),
    (["check", "--deploy", "--fail-level", "WARNING"], ["check", "--deploy", "--fail-level", "WARNING"]),
    (["import", "incidents.csv"], ["import_incidents", "incidents.csv"]),
    (["serve", "--port", "8765"], ["serve", "--port", "8765"]),
])
def test_the_users_words_reach_the_right_django_command(typed: list[str], runs: list[str]) -> None:
    """`escalade check REQ-1042` is the incident check; Django's own check keeps its name and options."""
    assert cli.django_argv(typed) == runs


def test_escalade_alone_prints_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert "evaluate" in out and "serve" in out and "check" in out


def test_policy_render_writes_the_procedure_as_a_pdf_in_either_language(tmp_path) -> None:
    import weasyprint

    from escalade.core import render
    from escalade.policies import load_policy

    for language in ("fr", "en"):
        target = tmp_path / f"procedure-{language}.pdf"
        result = subprocess.run([str(ESCALADE), "policy", "render", "--format", "pdf", "--language", language,
                                 "--output", str(target)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        pdf = target.read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    # The same document as the HTML: every page of it laid out (two A4 pages at least).
    pages = weasyprint.HTML(string=render.procedure_html(load_policy())).render().pages
    assert len(pages) >= 2


def test_policy_render_refuses_to_print_a_pdf_it_cannot_write(tmp_path) -> None:
    result = subprocess.run([str(ESCALADE), "policy", "render", "--format", "pdf", "--output",
                             str(tmp_path / "missing" / "p.pdf")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "fichier impossible à écrire" in result.stderr


@pytest.mark.parametrize(("argv", "stored"), [
    (["policy", "list"], True), (["policy", "load", "v2.toml"], True), (["policy", "show", "hipcom"], True),
    (["policy", "diff", "hipcom", "1", "2"], True), (["policy", "export", "gold"], True),
    (["policy", "apply", "hipcom", "--version", "2", "--open-incidents"], True),
    (["policy", "show"], False), (["policy", "show", "--policy", "mine.toml"], False),
    (["policy", "validate", "mine.toml"], False), (["policy", "render", "--format", "pdf"], False),
    (["evaluate", "list"], False),
])
def test_policy_actions_on_stored_versions_go_to_the_database_the_others_read_a_file(argv, stored):
    from escalade.cli import _stored_policy_action

    assert _stored_policy_action(argv) is stored
