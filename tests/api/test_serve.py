"""`escalade serve`: gunicorn answers on the chosen port; `--with-worker` starts and stops the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from notifications.support import free_port


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_serve_answers_and_stops_its_worker(tmp_path):
    env = {**os.environ, "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "ESCALADE_DATA_DIR": str(tmp_path), "ESCALADE_STATIC_ROOT": str(tmp_path / "static")}
    env.pop("ESCALADE_TEST_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "escalade", "migrate", "-v0"], env=env, check=True)
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "escalade", "serve", "--port", str(port), "--workers", "1", "--with-worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/policy", timeout=2)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
                assert exc.headers["Content-Type"] == "application/problem+json"
                break
            except OSError:
                assert serve.poll() is None, serve.stdout.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        kids = children(serve.pid)
        commands = [cmdline(k) for k in kids]
        assert any("gunicorn" in c for c in commands), commands
        assert any(c.rstrip().endswith("escalade worker") for c in commands), commands
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    time.sleep(0.2)
    assert not [k for k in kids if alive(k)]
    assert serve.returncode == 0
    assert str(port) in serve.stdout.read().decode()


def test_metrics_add_up_the_api_latency_of_every_gunicorn_process(tmp_path):
    env = {**os.environ, "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "ESCALADE_DATA_DIR": str(tmp_path), "ESCALADE_STATIC_ROOT": str(tmp_path / "static")}
    env.pop("ESCALADE_TEST_DATABASE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([sys.executable, "-m", "escalade", "migrate", "-v0"], env=env, check=True)
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "escalade", "serve", "--port", str(port), "--workers", "2"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
            except urllib.error.HTTPError:
                break  # 503: no worker, but the server answers
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        for _ in range(40):  # spread over both processes by the kernel
            try:
                urllib.request.urlopen(base + "/api/v1/policy", timeout=5)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
        counts = set()
        for _ in range(6):  # whichever process answers the scrape, it counts the 40
            text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
            line = next(ln for ln in text.splitlines()
                        if ln.startswith("escalade_api_request_seconds_count{") and 'route="api/v1/policy"' in ln)
            counts.add(float(line.rsplit(" ", 1)[1]))
        assert counts == {40.0}
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    assert (tmp_path / "prometheus").is_dir()
