"""`escalade evaluate` on whatever arrives: never an exception, one answer line per JSON Lines line,
each answer JSON, and the block path (files) writes byte for byte what the stream path (pipes)
writes. Bounded here (`ESCALADE_FUZZ_EXAMPLES` × 25); `make fuzz` runs more.

Instants around HIPCOM's Friday 2026-11-27 12:00 Paris, where the procedure's clocks are busiest.
"""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalade.evaluate.stream import (
    EXIT_BAD_LINES,
    EXIT_OK,
    documents,
    evaluate_blocks,
    evaluate_stream,
    text_blocks,
)
from escalade.policies import load_policy

POLICY = load_policy()
AT = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
FUZZ = settings(max_examples=int(os.environ.get("ESCALADE_FUZZ_EXAMPLES", "12")) * 25, deadline=None,
                suppress_health_check=list(HealthCheck), database=None)

instants = st.sampled_from([
    "2026-11-27T10:00:00+01:00", "2026-11-27T10:00:00Z", "2026-11-27T10:00:00", "2026-11-27", "hier",
    "2026-03-29T02:30:00+02:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
    "2026-11-27T10:00:00.123456+01:00", "",
]) | st.text(max_size=30)
scalars = (st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=True)
           | st.text(max_size=20))
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
FIELDS = {
    "request_number": st.sampled_from(["REQ-1042", "REQ-1", "req-1", "", "REQ-" + "9" * 70]) | anything,
    "priority": st.sampled_from(["low", "medium", "high", "HIGH", ""]) | anything,
    "opened_at": instants | anything,
    "acknowledged_at": instants | st.none(),
    "resolved_at": instants | st.none(),
    "gtr": st.booleans() | anything,
    "track": st.sampled_from(["support", "production", "autre"]) | anything,
    "pauses": st.lists(st.fixed_dictionaries({}, optional={"start": instants, "end": instants | st.none()})
                       | anything, max_size=3) | anything,
}
incidents = st.fixed_dictionaries({}, optional=FIELDS)
lines = st.lists(
    incidents.map(json.dumps)
    | anything.map(json.dumps)
    | st.sampled_from(["", "   ", "{", "}", "[1,", '{"request_number": "REQ-1"', "nul\x00", "\ufeff{}"])
    | st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
    min_size=1, max_size=12,
)


def stream_path(text: str) -> tuple[int, str]:
    out = io.StringIO()
    return evaluate_stream(POLICY, AT, documents(io.StringIO(text, newline="")), out), out.getvalue()


def block_path(text: str, size: int) -> tuple[int, str]:
    out = io.StringIO()
    return evaluate_blocks(POLICY, AT, text_blocks(io.StringIO(text, newline=""), size), out), out.getvalue()


@FUZZ
@given(lines=lines, size=st.integers(1, 300))
def test_any_input_gets_one_json_answer_per_line_the_same_by_blocks_and_by_stream(lines, size):
    text = "\n".join(lines) + "\n"
    status, answers = stream_path(text)
    assert status in (EXIT_OK, EXIT_BAD_LINES)
    assert block_path(text, size) == (status, answers)
    for answer in answers.splitlines():
        body = json.loads(answer)
        assert "request_number" in body
        assert ("error" in body and "code" in body) or "commitments" in body, body
    if all(line.strip() for line in lines) and is_json_lines(lines[0]):
        assert len(answers.splitlines()) == len(lines)


def is_json_lines(first: str) -> bool:
    try:
        json.loads(first)
        return True
    except json.JSONDecodeError:
        return False
