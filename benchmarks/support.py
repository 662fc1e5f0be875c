"""What the benchmarks share: a scratch database filled by `escalade demo --incidents`, the real
server (`escalade serve`, gunicorn) with a trivial JSON view beside the product's own views (the
baseline of the same run), wrk for the load, and the table every script prints."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/escalade_bench"
STAFF_TOKEN = "esc_demo_support_2026"  # `escalade demo`'s published staff token
UNLIMITED = "1000000000/60"  # the abuse limits would measure themselves, not the service


def libpq(url: str, database: str | None = None) -> str:
    """`url` as psycopg takes it (or for another database of the server): without Escalade's own
    options (`?prepare_threshold=none&server_side_binding=false`, docs/deployment.md)."""
    base = url.split("?", 1)[0]
    return base if database is None else base.rsplit("/", 1)[0] + "/" + database


def postgres_reachable(url: str = PG_DEFAULT) -> bool:
    try:
        import psycopg

        with psycopg.connect(libpq(url, "postgres"), connect_timeout=2):
            return True
    except Exception:
        return False


def scratch_database(url: str | None, tmp: Path, reuse: bool = False) -> str:
    """A fresh database: the PostgreSQL one named by `url` (dropped and recreated), else SQLite.
    With `reuse`, a PostgreSQL database is kept as it is (see `populate`), and created when missing."""
    if url is None or not url.startswith("postgres"):
        return url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    if reuse and database_exists(url):
        return url
    drop_database(url, create=True)
    return url


def database_exists(url: str) -> bool:
    import psycopg

    name = libpq(url).rsplit("/", 1)[1]
    with psycopg.connect(libpq(url, "postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def drop_database(url: str, create: bool = False) -> None:
    """Drop the PostgreSQL database named by `url` (whoever is connected), and create it empty again
    if `create`."""
    import psycopg

    name = libpq(url).rsplit("/", 1)[1]
    with psycopg.connect(libpq(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def environment(url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ESCALADE_DEV": "1",  # a throwaway database with the demo's published accounts
        "ESCALADE_DATABASE_URL": url,
        "ESCALADE_DATA_DIR": str(tmp),
        "ESCALADE_LOG_LEVEL": "WARNING",
        "ESCALADE_EMAIL_URL": "file://" + str(tmp / "mail"),
        "ESCALADE_RATE_ESCALATIONS_PER_USER": UNLIMITED,
        "ESCALADE_RATE_ESCALATIONS_PER_INCIDENT": UNLIMITED,
        "DJANGO_SETTINGS_MODULE": "trivial_settings",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
    }
    env.update(extra)
    return env


def escalade(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "escalade", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"escalade {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def populate(env: dict[str, str], incidents: int, open_count: int, customers: int = 200) -> float:
    """Migrate and generate; returns the generation's seconds. A database that already holds exactly
    this data set (a kept one, `--reuse`: as many generated incidents, open ones and customers) is used
    as it is: 0 s."""
    escalade(env, "migrate", "-v0")
    url = env["ESCALADE_DATABASE_URL"]
    try:
        held = query(url, "SELECT count(*), count(*) FILTER (WHERE resolved_at IS NULL), "
                          "(SELECT count(*) FROM incidents_customer WHERE code LIKE 'gen-c%') FROM incidents_incident "
                          "WHERE request_number LIKE 'GEN-%'")[0]
    except Exception:
        held = (0, 0, 0)  # SQLite before 3.30 has no FILTER; a fresh file holds nothing anyway
    if held == (incidents, open_count, customers):
        return 0.0
    if held[0]:
        raise SystemExit(f"{url} holds another data set ({held[0]:,} generated incidents): drop it or leave out --reuse")
    started = time.monotonic()
    escalade(env, "demo", "--incidents", str(incidents), "--open", str(open_count), "--customers", str(customers))
    return time.monotonic() - started


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of `sql` read straight from the scratch database (no Django in the benchmark process)."""
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(libpq(url)) as conn:
            return list(conn.execute(sql).fetchall())
    import sqlite3

    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return list(conn.execute(sql).fetchall())


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join(f'"{v}"' for v in values) + "}"


def start_smtp() -> tuple[subprocess.Popen[bytes], int]:
    """aiosmtpd's sink server in its own process, as a real mail relay would be; (process, port)."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server, port
        time.sleep(0.05)
    raise RuntimeError("aiosmtpd did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(env: dict[str, str], workers: int = 2, threads: int = 1) -> Iterator[str]:
    """`escalade serve --workers N --threads T` on a free loopback port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "escalade", "serve", "--workers", str(workers),
                                    "--threads", str(threads), "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            _wait_until_up(base, process, log)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/trivial", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit("escalade serve did not start:\n" + log.read().decode()[-3000:]) from None
            time.sleep(0.3)


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, seconds: int, connections: int = 32, script: str | None = None,
        args: tuple[str, ...] = (), token: str | None = STAFF_TOKEN) -> Load:
    """wrk against `url`; `script` is Lua (the request each connection sends)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs Debian's wrk, or apt-get install wrk")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        command.append(url)
        if args:
            command += ["--", *args]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def ms(text: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
        return float(number) * UNIT[unit]

    wrong = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(wrong.group(1)) if wrong else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return Load(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
                ms(latency["50"]), ms(latency["99"]), errors)


def timed(call: object, runs: int) -> float:
    """Median milliseconds of `runs` calls (after one warm-up)."""
    assert callable(call)
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    print(" | ".join(header))
    print("|".join("---" for _ in header))
    for row in rows:
        print(" | ".join(row))
    sys.stdout.flush()


def database_label(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"
