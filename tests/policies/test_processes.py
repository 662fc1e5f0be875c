"""A version loaded by one process is used by the others within seconds, without a restart: two
gunicorn processes serve the public procedure page while `escalade policy load` runs beside them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from api.test_serve import free_port

from escalade.policies import policy_text, store


def _page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/procedure/", timeout=5) as response:
        return response.read().decode()


def test_every_web_process_shows_a_new_version_within_seconds_of_its_load(tmp_path: Path) -> None:
    env = {**os.environ, "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "ESCALADE_DATA_DIR": str(tmp_path), "ESCALADE_STATIC_ROOT": str(tmp_path / "static")}
    env.pop("ESCALADE_TEST_DATABASE_URL", None)
    env.pop("ESCALADE_POLICY", None)
    escalade = [sys.executable, "-m", "escalade"]
    subprocess.run([*escalade, "migrate", "-v0"], env=env, check=True)
    port = free_port()
    serve = subprocess.Popen([*escalade, "serve", "--port", str(port), "--workers", "2"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                before = [_page(port) for _ in range(6)]  # both processes have read version 1
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert all("Guillaume MASUIT" in page for page in before)
        new = tmp_path / "v2.toml"
        new.write_text(policy_text().replace('name = "Guillaume MASUIT"', 'name = "Hélène Nouvelle"'), encoding="utf-8")
        subprocess.run([*escalade, "policy", "load", str(new), "--comment", "nouvelle directrice"], env=env, check=True)
        loaded = time.monotonic()
        while True:
            pages = [_page(port) for _ in range(6)]
            if all("Hélène Nouvelle" in page for page in pages):
                break
            assert time.monotonic() - loaded < store.FRESH_SECONDS + 3, "a process still shows the old version"
            time.sleep(0.2)
        print(f"every process showed version 2 {time.monotonic() - loaded:.1f} s after the load")
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
