"""Throughput of `escalade import` (CSV), on a fresh SQLite file and, if reachable, on PostgreSQL.

Generates N seeded incidents (a mix of priorities, tracks, acknowledged and resolved ones) into a
temporary CSV, creates a database with two customers, runs `escalade import` as a subprocess and
prints rows per second for each phase, plus a second run of the same file (all updates). On
PostgreSQL two references are measured in the same run: a bare COPY of the file into an unindexed
table (the load's ceiling), and the database floor: the incidents and timeline entries the import
wrote, COPYed alone into a second database made the same way (what the database itself spends on
those rows, with no Python work at all).

    .venv/bin/python benchmarks/bench_import.py                  # 100,000 rows, SQLite
    .venv/bin/python benchmarks/bench_import.py --n 20000 --postgres postgresql://postgres@127.0.0.1:5432/bench_import
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import support

ROOT = Path(__file__).resolve().parent.parent
ESCALADE = [sys.executable, "-m", "escalade"]
HEADER = "request_number,customer,priority,track,gtr,opened_at,acknowledged_at,resolved_at,title"


def generate(path: Path, n: int) -> None:
    rnd = random.Random(42)
    now = datetime.now(UTC)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for i in range(1, n + 1):
            opened = now - timedelta(minutes=rnd.randint(10, 60 * 24 * 60))
            ack = opened + timedelta(minutes=rnd.randint(5, 300)) if rnd.random() < 0.7 else None
            resolved = None
            if ack and rnd.random() < 0.6 and ack + timedelta(hours=50) < now:
                resolved = ack + timedelta(minutes=rnd.randint(10, 3000))
            out.write(",".join([
                f"BENCH-{i}", rnd.choice(("acme", "globex")), rnd.choice(("low", "medium", "high")),
                rnd.choice(("support", "production")), "", opened.isoformat(),
                ack.isoformat() if ack else "", resolved.isoformat() if resolved else "", f"Incident {i}",
            ]) + "\n")


def run(env: dict[str, str], *args: str) -> float:
    started = time.monotonic()
    subprocess.run([*ESCALADE, *args], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


TABLES = ("incidents_incident", "incidents_timelineevent")  # what an import of new incidents writes


def prepare(database_url: str) -> dict[str, str]:
    env = {"ESCALADE_DEV": "1", **os.environ, "ESCALADE_DATABASE_URL": database_url}  # a throwaway database
    run(env, "migrate", "-v0")
    run(env, "customers", "add", "acme", "ACME", "--gtr")
    run(env, "customers", "add", "globex", "Globex")
    return env


def bench(label: str, database_url: str, csv: Path, n: int) -> tuple[str, float, float, dict[str, bytes]]:
    env = prepare(database_url)
    first = run(env, "import", str(csv))
    written = dump(database_url) if database_url.startswith("postgresql") else {}
    second = run(env, "import", str(csv))
    return label, n / first, n / second, written


def dump(url: str) -> dict[str, bytes]:
    """The rows the first import wrote, in PostgreSQL's binary COPY format."""
    import psycopg

    written = {}
    with psycopg.connect(support.libpq(url)) as conn, conn.cursor() as cursor:
        for table in TABLES:
            with cursor.copy(f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT (FORMAT BINARY)") as copy:
                written[table] = b"".join(bytes(block) for block in copy)
    return written


def database_floor(url: str, written: dict[str, bytes], n: int) -> float:
    """Rows per second of the database's own share of the import: the same incidents and timeline
    entries COPYed, in one transaction, into a second database made the same way (the same indexes,
    constraints, triggers and foreign keys checked at commit), with no Python work per row."""
    import psycopg

    floor = support.libpq(url) + "_floor"
    support.drop_database(floor, create=True)
    prepare(floor)  # the same customers and policy version, so the same ids
    with psycopg.connect(support.libpq(floor)) as conn, conn.cursor() as cursor:
        started = time.monotonic()
        for table in TABLES:
            with cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(written[table])
        conn.commit()
        elapsed = time.monotonic() - started
    support.drop_database(floor)
    return n / elapsed


def copy_baseline(url: str, csv: Path) -> float:
    """Rows per second of a bare COPY of the same file into an unindexed table: the load's ceiling."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMPORARY TABLE raw_load (request_number text, customer text, priority text, "
                     "track text, gtr text, opened_at timestamptz, acknowledged_at timestamptz, "
                     "resolved_at timestamptz, title text)")
        started = time.monotonic()
        with conn.cursor().copy("COPY raw_load FROM STDIN WITH (FORMAT csv, HEADER true, NULL '')") as copy:
            copy.write(csv.read_bytes())
        conn.commit()
        count = conn.execute("SELECT count(*) FROM raw_load").fetchone()[0]  # type: ignore[index]
        return count / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database may be dropped and recreated")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "incidents.csv"
        generate(csv, args.n)
        label, create, update, _ = bench("SQLite (file, WAL)", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", csv, args.n)
        rows.append((label, create, update, None, None))
        if args.postgres:
            support.drop_database(args.postgres, create=True)
            label, create, update, written = bench("PostgreSQL", args.postgres, csv, args.n)
            rows.append((label, create, update, copy_baseline(args.postgres, csv),
                         database_floor(args.postgres, written, args.n)))
    table = []
    for label, create, update, copy, floor in rows:
        ratio = f"{create / copy:.3f}" if copy else "–"
        goal = "≥ 20,000 rows/s" if copy else "–"
        met = "–" if not copy else ("met" if create >= 20_000 else f"missed ({create / 20_000:.2f} of it)")
        table.append([label, f"{args.n:,}", f"{create:,.0f}", f"{update:,.0f}", f"{copy:,.0f}" if copy else "–",
                      f"{floor:,.0f}" if floor else "–", ratio, goal, met])
    support.table("bench_import — escalade import (process start, reading, checks, writes, timeline)",
                  ["database", "rows", "new rows/s", "updated rows/s", "bare COPY rows/s (baseline)",
                   "database floor rows/s (the rows written, COPYed alone)", "ratio", "goal", ""], table)


if __name__ == "__main__":
    main()
