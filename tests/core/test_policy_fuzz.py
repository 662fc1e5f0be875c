"""The policy loader on broken policies: HIPCOM's file with lines removed, values replaced and
garbage inserted either loads or is refused with `PolicyError` (its issues named by field path),
never another exception. Bounded here; `make fuzz` runs more."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalade.core.policy import Policy, PolicyError, policy_from_toml
from escalade.policies import policy_text

TEXT = policy_text()
LINES = TEXT.splitlines()
FUZZ = settings(max_examples=int(os.environ.get("ESCALADE_FUZZ_EXAMPLES", "12")) * 25, deadline=None,
                suppress_health_check=list(HealthCheck), database=None)

values = st.sampled_from([
    '""', "0", "-1", "1e400", "true", "[]", "{}", '"-30 mn"', '"abc"', '"(("', '"24/8"', '"Europe/Atlantis"',
    '"25:00"', '"09:00-08:00"', "[1, 2]", '"' + "x" * 500 + '"', "inf", "nan", '"\\u0000"',
]) | st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"')


@st.composite
def broken(draw) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "value", "garbage", "duplicate"]))
        if action == "delete":
            del lines[i]
        elif action == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {draw(values)}"
        elif action == "garbage":
            lines.insert(i, draw(st.text(max_size=30).filter(lambda t: "\n" not in t)))
        else:
            lines.insert(i, lines[i])
        if not lines:
            break
    return "\n".join(lines)


@FUZZ
@given(text=broken())
def test_a_broken_policy_loads_or_is_refused_with_its_issues(text):
    try:
        policy = policy_from_toml(text)
    except PolicyError as exc:
        assert exc.issues and all(str(issue).strip() for issue in exc.issues)
    else:
        assert isinstance(policy, Policy) and policy.priorities
