"""Throughput and memory of `escalade evaluate` on a JSON Lines stream.

Generates N realistic incidents (seeded) into a temporary file, streams it through
`.venv/bin/escalade evaluate --at …` as a subprocess, and prints incidents per second and the
subprocess's peak RSS, for several sizes (peak RSS must stay flat: evaluation is streaming).

    .venv/bin/python benchmarks/bench_evaluate.py                 # 100,000 and 1,000,000
    .venv/bin/python benchmarks/bench_evaluate.py --n 200000      # one size
    .venv/bin/python benchmarks/bench_evaluate.py --jobs 1 2      # compare worker counts
    .venv/bin/python benchmarks/bench_evaluate.py --generate 10000 > sample.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ESCALADE = ROOT / ".venv" / "bin" / "escalade"
# Just after the spring DST change (29 March 2026): the 30-day window before it spans both offsets.
AT = "2026-03-30T10:00:00+02:00"
AT_DT = datetime.fromisoformat(AT)
WINDOW = timedelta(days=30)

TARGETS = {"incidents_per_s": 50_000, "peak_rss_mb": 200}
PRIORITIES = (("low", 0.45), ("medium", 0.35), ("high", 0.20))
PARIS_OFFSETS = (timezone(timedelta(hours=1)), timezone(timedelta(hours=2)))


def _iso(rng: random.Random, instant: datetime) -> str:
    """The same instant written as integrations do: UTC 'Z', or a Paris offset."""
    if rng.random() < 0.3:
        return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
    # The offset in force in Paris at that instant (last Sunday of March, 01:00 UTC).
    offset = PARIS_OFFSETS[1] if instant >= datetime(2026, 3, 29, 1, tzinfo=UTC) else PARIS_OFFSETS[0]
    return instant.astimezone(offset).isoformat()


def incident(rng: random.Random, i: int, errors: float) -> dict[str, object]:
    priority = rng.choices([p for p, _ in PRIORITIES], weights=[w for _, w in PRIORITIES])[0]
    # Opened within the window, in seconds (whole minutes most of the time, as tools record them).
    opened = AT_DT - timedelta(seconds=rng.randrange(int(WINDOW.total_seconds())))
    if rng.random() < 0.8:
        opened = opened.replace(second=0)
    doc: dict[str, object] = {
        "request_number": f"REQ-{100000 + i}",
        "priority": priority,
        "opened_at": _iso(rng, opened),
    }
    if rng.random() < 0.6:
        doc["gtr"] = rng.random() < 0.5
    if rng.random() < 0.5:
        doc["track"] = rng.choice(("support", "production"))
    # Acknowledged within minutes to a couple of days (some after the evaluation instant: ignored).
    if rng.random() < 0.75:
        ack = opened + timedelta(minutes=rng.expovariate(1 / 180))
        doc["acknowledged_at"] = _iso(rng, ack)
        if rng.random() < 0.6:
            resolved = ack + timedelta(minutes=rng.expovariate(1 / 1800))
            doc["resolved_at"] = _iso(rng, resolved)
    else:
        doc["acknowledged_at"] = None
    if rng.random() < 0.2:
        pauses = []
        cursor = opened
        for _ in range(rng.randint(1, 3)):
            start = cursor + timedelta(minutes=rng.randint(5, 600))
            end = start + timedelta(minutes=rng.randint(5, 900))
            pauses.append({"start": _iso(rng, start), "end": _iso(rng, end) if rng.random() < 0.85 else None})
            if pauses[-1]["end"] is None:
                break
            cursor = end
        doc["pauses"] = pauses
    if errors and rng.random() < errors:  # the odd broken line from a real integration
        kind = rng.randrange(3)
        if kind == 0:
            doc["priority"] = "urgent"
        elif kind == 1:
            doc["opened_at"] = str(doc["opened_at"])[:19]  # no offset
        else:
            doc["request_number"] = "42"
    return doc


def generate(path: Path, n: int, seed: int = 1042, errors: float = 0.001) -> None:
    rng = random.Random(seed)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(dumps(incident(rng, i, errors)) + "\n")


def run(path: Path, jobs: int | None) -> tuple[float, float, int, int]:
    """Seconds, peak RSS (MB) of this child, exit status, output lines."""
    cmd = [str(ESCALADE), "evaluate", "--at", AT]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    cmd.append(str(path))
    # Each run in its own intermediate process, so RUSAGE_CHILDREN is this run's peak alone.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(read)
        start = time.perf_counter()
        # The output is read as it comes (and its lines counted), never held in memory.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        lines = 0
        while chunk := proc.stdout.read(1 << 20):
            lines += chunk.count(b"\n")
        returncode = proc.wait()
        seconds = time.perf_counter() - start
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        os.write(write, json.dumps([seconds, rss_kb, returncode, lines]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        seconds, rss_kb, status, lines = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return seconds, rss_kb / 1024, status, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000], help="sizes to run")
    parser.add_argument("--jobs", type=int, nargs="*", default=None,
                        help="worker counts to compare (passed as --jobs); default: the CLI's default")
    parser.add_argument("--seed", type=int, default=1042)
    parser.add_argument("--errors", type=float, default=0.001, help="fraction of broken lines")
    parser.add_argument("--generate", type=int, metavar="N", help="only write N incidents to stdout")
    args = parser.parse_args()
    if args.generate:
        rng = random.Random(args.seed)
        for i in range(args.generate):
            sys.stdout.write(json.dumps(incident(rng, i, args.errors), separators=(",", ":")) + "\n")
        return 0

    jobs_list: list[int | None] = list(args.jobs) if args.jobs else [None]
    print(f"escalade evaluate --at {AT}  (CPUs: {os.cpu_count()}, Python {sys.version.split()[0]})")
    print("workload: 45% low / 35% medium / 20% high, opened in the 30 days before --at (spans the")
    print("          DST change), 75% acknowledged, 45% resolved, 20% with 1-3 pauses,")
    print(f"          {args.errors:.1%} broken lines; seed {args.seed}")
    print()
    header = f"{'incidents':>11} {'jobs':>6} {'input MB':>9} {'seconds':>8} {'incidents/s':>12} {'peak RSS MB':>12} {'exit':>5}"
    print(header)
    print("-" * len(header))
    results = []
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as tmp:
        for n in args.n:
            path = Path(tmp) / f"incidents-{n}.jsonl"
            generate(path, n, args.seed, args.errors)
            size_mb = path.stat().st_size / 1e6
            for jobs in jobs_list:
                seconds, rss, status, lines = run(path, jobs)
                if lines != n:
                    print(f"!! {lines} output lines for {n} incidents (exit {status})")
                rate = n / seconds
                results.append((n, jobs, rate, rss))
                label = "default" if jobs is None else str(jobs)
                print(f"{n:>11,} {label:>6} {size_mb:>9.1f} {seconds:>8.2f} {rate:>12,.0f} {rss:>12.1f} {status:>5}")
            path.unlink()
    print()
    best = max(r[2] for r in results)
    worst_rss = max(r[3] for r in results)
    ok_rate = best >= TARGETS["incidents_per_s"]
    ok_rss = worst_rss < TARGETS["peak_rss_mb"]
    print(f"target throughput >= {TARGETS['incidents_per_s']:,}/s: best {best:,.0f}/s  "
          f"{'OK' if ok_rate else 'MISSED'}")
    print(f"target peak RSS < {TARGETS['peak_rss_mb']} MB at every size: max {worst_rss:.1f} MB  "
          f"{'OK' if ok_rss else 'MISSED'}")
    return 0 if ok_rate and ok_rss else 1


if __name__ == "__main__":
    sys.exit(main())
