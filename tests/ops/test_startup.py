"""`serve` and `worker` refuse to start on a policy they cannot enforce, and say why, field by field
(they used to start and answer 500 on every page, or log a failure per incident and exit 0)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from escalade.policies import policy_text

BROKEN = {
    "toml_syntax": (lambda text: text + "\n[[[ pas du toml\n", "TOML"),
    "bad_regex": (lambda text: text.replace('request_number_example = ', 'request_number_pattern = "(REQ"\nrequest_number_example = ', 1),
                  "organisation.request_number_pattern"),
    "negative_target": (lambda text: text.replace('target = "30min"', 'target = "-30min"', 1),
                        "priorities.high.take_charge"),
    "unknown_clock": (lambda text: text.replace('clock = "heures-ouvrees"', 'clock = "lune"', 1), "lune"),
}


def _run(args: list[str], policy: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ESCALADE_POLICY": str(policy), "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "ESCALADE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "escalade.settings"}
    return subprocess.run([sys.executable, "-m", "escalade", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("command", [["worker", "--once"], ["serve", "--port", "1"]], ids=["worker", "serve"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_policy_stops_the_start_with_the_validators_message(tmp_path: Path, command: list[str],
                                                                     case: str) -> None:
    change, expected = BROKEN[case]
    policy = tmp_path / "policy.toml"
    policy.write_text(change(policy_text()), encoding="utf-8")
    done = _run(command, policy, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Politique inutilisable, démarrage refusé" in done.stderr and expected in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_policy_file_stops_the_start(tmp_path: Path) -> None:
    done = _run(["worker", "--once"], tmp_path / "absente.toml", tmp_path)
    assert done.returncode == 2 and "fichier illisible" in done.stderr and "Traceback" not in done.stderr


def test_a_web_process_freezes_what_it_loaded_and_collects_cycles_less_often(tmp_path: Path) -> None:
    """gunicorn's processes load `escalade.wsgi`: the application's own objects are left out of the
    cycle collector's traversals, and a request's objects are rarely traversed while in use."""
    env = {**os.environ, "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "ESCALADE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "escalade.settings"}
    done = subprocess.run([sys.executable, "-c", "import gc, escalade.wsgi; "
                           "print(gc.get_threshold()[0], gc.get_freeze_count() > 10_000, gc.isenabled())"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["10000", "True", "True"]
