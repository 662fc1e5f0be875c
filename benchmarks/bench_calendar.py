"""Business-time deadlines per second: our BusinessCalendar against two well-known peers.

One run, one seeded workload: start instants uniformly random over 2024–2030 (to the microsecond),
as timezone-aware Europe/Paris datetimes; targets of 4 h and 96 h of business time on
Monday–Friday 09:00–18:00 Europe/Paris minus French public holidays (`holidays`, FR).

  (a) ours, scalar       BusinessCalendar.add(datetime, timedelta) -> datetime
  (b) ours, vectorized   BusinessCalendar.add_many(int64 UTC epoch µs array) -> int64 array;
                         converting Python datetimes to/from int64 µs is timed separately
  (c) businesstimedelta  BusinessTimeDelta(Rules([WorkDayRule 9-18 Mon-Fri, HolidayRule FR]),
                         rules localized to Europe/Paris with pytz)
  (d) pandas             Timestamp + CustomBusinessHour(start="09:00", end="18:00", holidays=FR):
                         pandas has no time zone support in business offsets, so each start is
                         converted to naive Paris wall-clock time, and the naive answer is
                         localized back to Europe/Paris (answers are 09:00–18:00 wall-clock
                         times, never in a DST gap or overlap).

Every peer answer is compared with ours exactly (to the microsecond, as instants).

    .venv/bin/python benchmarks/bench_calendar.py [--peers 2000] [--scalar 200000] [--vector 5000000]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np

from escalade.core.calendar import BusinessCalendar, from_us, to_us
from escalade.policies import load_policy

PARIS = ZoneInfo("Europe/Paris")
LO = to_us(datetime(2024, 1, 1, tzinfo=PARIS))
HI = to_us(datetime(2031, 1, 1, tzinfo=PARIS))
TARGETS_H = (4, 96)
# Targets: scalar ours / businesstimedelta at 4 h and 96 h; vectorized deadlines per second.
RATIO_TARGETS = {4: 30.0, 96: 300.0}
VECTOR_TARGET = 3_000_000


def workload(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(LO, HI, size=n, dtype=np.int64)


def as_paris(us: np.ndarray) -> list[datetime]:
    return [from_us(int(u), PARIS) for u in us]


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# -- peers ----------------------------------------------------------------------------------------


def btd_adder(hours: int) -> Callable[[datetime], datetime]:
    import businesstimedelta as btd
    import pytz

    tz = pytz.timezone("Europe/Paris")
    workday = btd.WorkDayRule(
        start_time=datetime.min.time().replace(hour=9),
        end_time=datetime.min.time().replace(hour=18),
        working_days=[0, 1, 2, 3, 4],
        tz=tz,
    )
    fr = holidays_lib.country_holidays("FR", years=range(2023, 2033))
    holiday = btd.HolidayRule(fr, tz=tz)
    delta = btd.BusinessTimeDelta(btd.Rules([workday, holiday]), hours=hours)
    return lambda start: start + delta  # type: ignore[no-any-return]


def pandas_adder(hours: int) -> Callable[[datetime], datetime]:
    import pandas as pd

    fr = sorted(holidays_lib.country_holidays("FR", years=range(2023, 2033)))
    offset = pd.offsets.CustomBusinessHour(n=hours, start="09:00", end="18:00", holidays=fr)

    def add(start: datetime) -> datetime:
        naive = pd.Timestamp(start.astimezone(PARIS).replace(tzinfo=None))
        return (naive + offset).tz_localize("Europe/Paris").to_pydatetime()  # type: ignore[no-any-return]

    return add


# -- reporting ------------------------------------------------------------------------------------


def disagreements(
    name: str, starts: Sequence[datetime], ours: Sequence[int], theirs: Sequence[datetime]
) -> list[str]:
    lines = []
    bad = [(s, o, t) for s, o, t in zip(starts, ours, theirs, strict=True) if to_us(t) != o]
    for s, o, t in bad[:4]:
        ours_local = from_us(o, PARIS).isoformat()
        theirs_local = t.astimezone(PARIS).isoformat()
        lines.append(f"    {name}: start {s.isoformat()}  ours {ours_local}  theirs {theirs_local}")
    return [str(len(bad)), *lines]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", type=int, default=2_000, help="deadlines per peer and target")
    parser.add_argument("--scalar", type=int, default=200_000, help="deadlines for our scalar add")
    parser.add_argument("--vector", type=int, default=5_000_000, help="deadlines for add_many")
    parser.add_argument("--seed", type=int, default=20260327)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # pandas' PerformanceWarning chatter

    calendar = load_policy().calendars["heures-ouvrees"]
    assert isinstance(calendar, BusinessCalendar)
    starts_us = workload(max(args.scalar, args.vector, args.peers), args.seed)
    scalar_us = starts_us[: args.scalar]
    peer_us = starts_us[: args.peers]
    vector_us = starts_us[: args.vector]
    scalar_dt = as_paris(scalar_us)
    peer_dt = scalar_dt[: args.peers] if args.peers <= args.scalar else as_paris(peer_us)
    # Warm up: tables for 2023-2031 built once, outside the timings (the service builds them once).
    calendar.add_many(starts_us[:10], timedelta(hours=96))

    print("Business-time deadlines: Mon-Fri 09:00-18:00 Europe/Paris, French public holidays")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, seed {args.seed}; start instants "
          "uniform over 2024-01-01..2030-12-31 (µs), aware Europe/Paris datetimes")
    print(f"sizes: ours scalar {args.scalar:,}, ours vectorized {args.vector:,}, "
          f"each peer {args.peers:,} (the first {args.peers:,} starts of the same workload)")
    print()
    header = (f"{'target':>6}  {'implementation':<34} {'n':>10} {'seconds':>9} {'deadlines/s':>14} "
              f"{'ours/peer':>10} {'disagree':>9}")
    print(header)
    print("-" * len(header))
    notes: list[str] = []
    checks: list[tuple[str, bool]] = []
    for hours in TARGETS_H:
        duration = timedelta(hours=hours)
        # (a) scalar
        add = calendar.add
        secs, res = timed(lambda: [add(s, duration) for s in scalar_dt])  # noqa: B023 (called at once)
        scalar_rate = args.scalar / secs
        ours_all = [to_us(d) for d in res]  # type: ignore[attr-defined]
        ours_peer = ours_all[: args.peers]
        print(f"{hours:>5}h  {'ours: BusinessCalendar.add':<34} {args.scalar:>10,} {secs:>9.3f} "
              f"{scalar_rate:>14,.0f} {'':>10} {'':>9}")
        # (b) vectorized
        secs_v, res_v = timed(lambda: calendar.add_many(vector_us, duration))  # noqa: B023 (called at once)
        vector_rate = args.vector / secs_v
        agree_v = np.array_equal(np.asarray(res_v)[: args.scalar], np.asarray(ours_all, dtype=np.int64))
        print(f"{hours:>5}h  {'ours: add_many (int64 µs kernel)':<34} {args.vector:>10,} {secs_v:>9.3f} "
              f"{vector_rate:>14,.0f} {'':>10} {'0' if agree_v else 'DIFFERS':>9}")
        # conversion cost, on the scalar-sized sample of Python datetimes
        secs_in, arr = timed(lambda: np.fromiter((to_us(s) for s in scalar_dt), np.int64, len(scalar_dt)))
        secs_k, out = timed(lambda: calendar.add_many(arr, duration))  # type: ignore[arg-type]  # noqa: B023
        secs_out, _ = timed(lambda: [from_us(int(u)) for u in out])  # type: ignore[attr-defined]  # noqa: B023
        total = secs_in + secs_k + secs_out
        print(f"{hours:>5}h  {'ours: add_many + datetime<->int64':<34} {args.scalar:>10,} {total:>9.3f} "
              f"{args.scalar / total:>14,.0f} {'':>10} {'':>9}")
        notes.append(f"{hours}h: of that, datetime->int64 {secs_in:.3f}s, kernel {secs_k:.3f}s, "
                     f"int64->datetime {secs_out:.3f}s")
        # (c) businesstimedelta, (d) pandas
        for name, make in (("businesstimedelta 1.0.1", btd_adder), ("pandas CustomBusinessHour", pandas_adder)):
            peer_add = make(hours)
            secs_p, res_p = timed(lambda peer_add=peer_add: [peer_add(s) for s in peer_dt])
            rate = args.peers / secs_p
            count, *examples = disagreements(name, peer_dt, ours_peer, res_p)  # type: ignore[arg-type]
            print(f"{hours:>5}h  {name:<34} {args.peers:>10,} {secs_p:>9.3f} {rate:>14,.0f} "
                  f"{scalar_rate / rate:>9.0f}x {count:>9}")
            notes.extend(examples)
            if name.startswith("businesstimedelta"):
                goal = RATIO_TARGETS[hours]
                checks.append((f"scalar >= {goal:.0f}x businesstimedelta at {hours}h: "
                               f"{scalar_rate / rate:,.0f}x", scalar_rate / rate >= goal))
        checks.append((f"vectorized >= {VECTOR_TARGET:,}/s at {hours}h: {vector_rate:,.0f}/s",
                       vector_rate >= VECTOR_TARGET))
    print()
    print("ours/peer = our scalar add's rate / the peer's rate (same starts, same target).")
    print("add_many's kernel rate excludes conversions; the '+ datetime<->int64' row includes both")
    print("conversions (to_us per datetime, from_us per answer) around the same kernel.")
    for note in notes:
        print(note)
    print()
    for text, ok in checks:
        print(f"{'OK    ' if ok else 'MISSED'} {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
