"""The evaluate command's fast paths give exactly the answers of the plain ones."""

from __future__ import annotations

import io
import json
import random
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from escalade.core import contract, messages
from escalade.core.contract import evaluation_json, facts_from_json, parse_instant
from escalade.core.escalation import evaluate
from escalade.evaluate import stream as cli
from escalade.evaluate.lines import dumps_line, evaluation_line
from escalade.policies import load_policy

AT = "2026-03-30T10:00:00+02:00"
ESCALADE = Path(sys.executable).with_name("escalade")


def _incidents(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    at = datetime.fromisoformat(AT)
    out = []
    for i in range(n):
        opened = at - timedelta(minutes=rng.randrange(60 * 24 * 20))
        doc: dict[str, object] = {
            "request_number": f"REQ-{i}",
            "priority": rng.choice(["low", "medium", "high"]),
            "gtr": rng.random() < 0.5,
            "track": rng.choice(["support", "production"]),
            "opened_at": opened.isoformat(),
        }
        if rng.random() < 0.6:
            ack = opened + timedelta(minutes=rng.randrange(600))
            doc["acknowledged_at"] = ack.astimezone(UTC).isoformat()
            if rng.random() < 0.5:
                doc["resolved_at"] = (ack + timedelta(minutes=rng.randrange(3000))).isoformat()
        if rng.random() < 0.2:
            start = opened + timedelta(minutes=rng.randrange(300))
            end = None if rng.random() < 0.3 else (start + timedelta(minutes=rng.randrange(1, 900))).isoformat()
            doc["pauses"] = [{"start": start.isoformat(), "end": end}]
        out.append(json.dumps(doc))
    out.insert(n // 2, "{not json")
    out.insert(n // 3, "")
    out.insert(n // 4, json.dumps({"request_number": "REQ-1", "priority": "urgent", "opened_at": AT}))
    return out


def test_evaluation_line_is_the_json_of_evaluation_json() -> None:
    policy = load_policy()
    at = parse_instant(AT, "at")
    checked = 0
    for line in _incidents(3000):
        try:
            facts = facts_from_json(policy, json.loads(line), at)
        except (ValueError, contract.FactsError):
            continue
        evaluation = evaluate(policy, facts, at)
        assert evaluation_line(policy, evaluation) == dumps_line(evaluation_json(policy, evaluation))
        checked += 1
    assert checked > 2900


def test_instant_texts_give_the_plain_answer() -> None:
    """The line writer's memo of instant texts answers what `format_instant` does, DST included."""
    from escalade.evaluate.lines import _instant_text, _instant_texts

    paris = ZoneInfo("Europe/Paris")
    base = datetime(2026, 10, 25, 0, 0, 0, 999_999, tzinfo=UTC)
    for minutes in range(0, 240, 7):
        instant = base + timedelta(minutes=minutes)
        for _ in range(2):  # a miss, then a hit
            expected = json.dumps(contract.format_instant(instant, paris))
            assert _instant_text(_instant_texts(paris), instant, paris) == expected
            assert messages.format_instant(instant, paris) == instant.astimezone(paris).strftime(
                "%d/%m/%Y à %H:%M"
            )
    local = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=paris)  # not UTC: never memoized
    assert _instant_text(_instant_texts(paris), local, paris) == '"2026-10-25T02:30:00+01:00"'


def test_blocks_give_the_plain_output() -> None:
    policy = load_policy()
    at = parse_instant(AT, "at")
    for text in ("\n\n" + "\n".join(_incidents(800)) + "\n", "\n".join(_incidents(300)), '{"a": "x\n' + "\n".join(_incidents(5))):
        plain, blocks = io.StringIO(), io.StringIO()
        status = cli.evaluate_stream(policy, at, cli.documents(io.StringIO(text)), plain)
        assert cli.evaluate_blocks(policy, at, cli.text_blocks(io.StringIO(text), 97), blocks) == status
        assert blocks.getvalue() == plain.getvalue()


@pytest.mark.parametrize("jobs", [1, 2, 3])
@pytest.mark.parametrize("universal", [True, False])
def test_forked_file_workers_give_the_plain_output(tmp_path: Path, jobs: int, universal: bool) -> None:
    policy = load_policy()
    at = parse_instant(AT, "at")
    text = "\n\n" + "\r\n".join(_incidents(400)) + "\r" + "\n".join(_incidents(50)) + "\n\n  \n"
    source = tmp_path / "in.jsonl"
    source.write_text(text, encoding="utf-8", newline="")
    with source.open(encoding="utf-8", newline=None if universal else "\n") as stream:
        plain = io.StringIO()
        status = cli.evaluate_stream(policy, at, cli.documents(stream), plain)
    target = tmp_path / "out.jsonl"
    # The forked path runs in a fresh single-threaded interpreter, as the CLI does: forking the test
    # runner (which has threads) is exactly what `can_evaluate_file_parallel` refuses.
    script = f"""
import sys
from escalade.core.contract import parse_instant
from escalade.evaluate import parallel
from escalade.policies import load_policy
with open({str(source)!r}, encoding="utf-8") as stream, open({str(target)!r}, "w", encoding="utf-8") as out:
    assert parallel.can_evaluate_file_parallel(stream, out)
    sys.exit(parallel.evaluate_file_parallel(
        load_policy(), parse_instant({AT!r}, "at"), stream, out, {jobs}, {universal}, chunk_bytes=1500))
"""
    got = subprocess.run([sys.executable, "-c", script], timeout=120, check=False).returncode
    assert got == status == 1
    assert target.read_text(encoding="utf-8") == plain.getvalue()


def test_a_pipe_is_answered_line_by_line() -> None:
    """SPEC §2: JSON Lines stream. A client writes one line and waits for its answer."""
    proc = subprocess.Popen(
        [str(ESCALADE), "evaluate", "--at", AT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for number in ("REQ-1", "REQ-2", "REQ-3"):
            doc = {"request_number": number, "priority": "high", "opened_at": "2026-03-30T09:00:00+02:00"}
            proc.stdin.write(json.dumps(doc).encode() + b"\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, f"no answer to {number} within 30 s"
            answer = json.loads(proc.stdout.readline())
            assert answer["request_number"] == number
        proc.stdin.close()
        assert proc.stdout.read() == b""
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
