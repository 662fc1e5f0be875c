"""The API under load: one incident, the first page of the list, an escalation request.

Fills a scratch database with `escalade demo --incidents N` (200 customers, 2% open), starts
`escalade serve --workers 2` and drives each endpoint with wrk (32 connections, staff token),
beside a trivial JSON view of the same server measured in the same run. The ratio is the
endpoint's requests per second over the trivial view's. Three floors are measured beside them (see
trivial_urls.py): the API's fixed cost (django-ninja and the token's authentication, nothing read),
and that plus the incident, or plus the list's page, read as the endpoints read them; what the
endpoints cost beyond is their own work (evaluating, writing the JSON).

    .venv/bin/python benchmarks/bench_api.py                         # 100,000 incidents, PostgreSQL
    .venv/bin/python benchmarks/bench_api.py --incidents 1000000     # the issue's size
    .venv/bin/python benchmarks/bench_api.py --database-url sqlite   # the embedded database

The PostgreSQL database (default postgresql://postgres@127.0.0.1:5432/escalade_bench) is erased.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import support

DETAIL = """
init = function(args) first = tonumber(args[1]); last = tonumber(args[2]) end
request = function()
  return wrk.format("GET", "%s" .. math.random(first, last))
end
"""
# Open incidents whose procedure allows an escalation now: the first request for a level grants it
# (201, contacts notified), the next ones are repeats (200, folded into the first).
ESCALATE = """
numbers = %s
request = function()
  local body = '{"request_number": "' .. numbers[math.random(#numbers)] .. '", "reason": "Service toujours coupé."}'
  wrk.headers["Content-Type"] = "application/json"  -- a table given to format would drop -H's token
  return wrk.format("POST", "/api/v1/escalations", nil, body)
end
"""
GOALS = {"detail": (0.5, 25.0), "list": (0.3, None), "escalate": (0.2, None)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration per endpoint")
    parser.add_argument("--database-url", default=support.PG_DEFAULT, help="'sqlite' for a temporary SQLite file")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn process (serve --threads)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a PostgreSQL database that already holds this data set (generated once)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as name:
        tmp = Path(name)
        url = support.scratch_database(None if args.database_url == "sqlite" else args.database_url, tmp,
                                         reuse=args.reuse)
        env = support.environment(url, tmp)
        open_count = max(1, args.incidents // 50)
        generated = support.populate(env, args.incidents, open_count)
        eligible = [str(n) for (n,) in support.query(
            url, "SELECT request_number FROM incidents_incident WHERE resolved_at IS NULL AND allowed_level > 0")]
        with support.served(env, threads=args.threads) as base:
            run = {
                "trivial": support.wrk(base + "/trivial", seconds=args.seconds),
                "floor": support.wrk(base + "/trivial/api/", seconds=args.seconds),
                "read": support.wrk(base + "/", seconds=args.seconds, script=DETAIL % "/trivial/api/incidents/GEN-",
                                    args=("1", str(args.incidents))),
                "detail": support.wrk(base + "/", seconds=args.seconds, script=DETAIL % "/api/v1/incidents/GEN-",
                                      args=("1", str(args.incidents))),
                "page": support.wrk(base + "/trivial/api/incidents", seconds=args.seconds),
                "list": support.wrk(base + "/api/v1/incidents", seconds=args.seconds),
                "escalate": support.wrk(base + "/", seconds=args.seconds,
                                        script=ESCALATE % support.lua_list(eligible)),
            }
    labels = {"trivial": "GET /trivial (baseline)", "floor": "GET /trivial/api/ (floor: ninja + token, nothing read)",
              "read": "GET /trivial/api/incidents/{n} (floor + the incident read)",
              "page": "GET /trivial/api/incidents (floor + the first page read)", "detail": "GET /api/v1/incidents/{n}",
              "list": "GET /api/v1/incidents (first page)", "escalate": f"POST /api/v1/escalations ({len(eligible):,} eligible)"}
    rows = []
    for key, load in run.items():
        ratio = load.rps / run["trivial"].rps
        goal = GOALS.get(key)
        goal_text = "–" if goal is None else f"≥ {goal[0]}" + (f", p99 ≤ {goal[1]:.0f} ms" if goal[1] else "")
        met = "–" if goal is None else ("met" if ratio >= goal[0] and (goal[1] is None or load.p99_ms <= goal[1])
                                         else "missed")
        rows.append([labels[key], f"{args.incidents:,}", f"{load.rps:,.0f}", f"{load.p50_ms:.1f} ms",
                     f"{load.p99_ms:.1f} ms", f"{load.errors}", f"{ratio:.3f}", goal_text, met])
    support.table(f"bench_api — {support.database_label(url)}, escalade serve --workers 2 --threads {args.threads}, wrk 32 connections, "
                  f"{args.seconds} s each (data generated in {generated:.0f} s)",
                  ["endpoint", "incidents", "req/s", "p50", "p99", "non-2xx", "ratio to trivial", "goal", ""], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
