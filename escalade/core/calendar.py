"""Clocks: 24/7 absolute time and business calendars, exact to the microsecond.

A business calendar answers `add`, `elapsed` and `subtract` by binary search over a table of its
opening intervals (UTC epoch microseconds) and the open time accumulated before each of them. The
table is built per local year, on first use, so a query costs O(log n) whatever the duration.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

import holidays as holidays_lib
import numpy as np
import numpy.typing as npt

from escalade.core.words import _

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
TWENTY_FOUR_SEVEN = "24/7"
# A calendar with no opening in this many years is unusable; policy validation rejects it earlier.
_MAX_YEARS_AHEAD = 50

IntArray = npt.NDArray[np.int64]


class NaiveDatetimeError(ValueError):
    """An instant without an offset: never silently assumed to be in any zone."""


_ONE_US = timedelta(microseconds=1)


def to_us(instant: datetime) -> int:
    """UTC epoch microseconds of an aware datetime (integer arithmetic, no float rounding)."""
    try:
        # Aware minus aware; a naive instant (or one whose tzinfo gives no offset) raises TypeError.
        delta = instant - EPOCH
    except TypeError:
        if isinstance(instant, datetime):
            raise NaiveDatetimeError(f"instant without offset: {instant.isoformat()}") from None
        raise
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(us: int, tz: tzinfo = UTC) -> datetime:
    # timedelta * int is exact integer arithmetic, and cheaper than timedelta(microseconds=us).
    instant = EPOCH + _ONE_US * us
    return instant if tz is UTC else instant.astimezone(tz)


def duration_us(duration: timedelta) -> int:
    return (duration.days * 86_400 + duration.seconds) * US + duration.microseconds


class Clock(Protocol):
    """What the SLA rules need of a clock; both kinds below provide it."""

    @property
    def name(self) -> str: ...

    @property
    def is_business(self) -> bool: ...

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """First instant at which the counted time since `start` equals `duration`."""
        ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Counted time between two instants (zero when `end` is not after `start`)."""
        ...

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """Latest instant from which `duration` of counted time reaches `end`."""
        ...


@dataclass(frozen=True)
class TwentyFourSeven:
    """Absolute time: a DST change never changes a duration."""

    name: str = TWENTY_FOUR_SEVEN
    is_business: bool = False

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start.astimezone(UTC) + duration

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(end.astimezone(UTC) - start.astimezone(UTC), timedelta(0))

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        return end.astimezone(UTC) - duration

    def add_many(self, starts_us: IntArray, duration: timedelta) -> IntArray:
        return starts_us + np.int64(duration_us(duration))


@dataclass(frozen=True)
class OpeningRange:
    """One opening range of a day, local wall-clock time; `end` of None means midnight (24:00)."""

    start: time
    end: time | None

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValueError("an opening range must end after it starts")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class _Table:
    """Opening intervals of local years first_year..last_year, and the open time before each."""

    first_year: int
    last_year: int
    lo: int  # first covered instant (UTC µs)
    hi: int  # first instant after the covered years
    starts: list[int]
    ends: list[int]
    cum: list[int]  # open µs before interval i (relative to the table's start)
    cumend: list[int]  # open µs up to the end of interval i


@dataclass(frozen=True)
class _Arrays:
    table: _Table
    starts: IntArray
    lens: IntArray
    cum: IntArray
    cumend: IntArray


@dataclass(eq=False)
class BusinessCalendar:
    """Opening hours per weekday in a time zone, minus public holidays and closed dates."""

    name: str
    tz: tzinfo
    weekly: Mapping[int, Sequence[OpeningRange]]
    country: str | None = None
    subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    open_dates: Mapping[date, Sequence[OpeningRange]] = field(default_factory=dict)
    label: str = ""
    is_business: bool = True
    _table: _Table | None = field(default=None, init=False, repr=False)
    _arrays: _Arrays | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # -- the day-level facts (used to build tables, and by people-facing explanations) -------------

    def holidays_of(self, years: Iterable[int]) -> dict[date, str]:
        if not self.country:
            return {}
        found = holidays_lib.country_holidays(
            self.country, subdiv=self.subdivision or None, years=list(years), language="fr"
        )
        return {day: str(name) for day, name in found.items()}

    def ranges_of(self, day: date, holidays: Mapping[date, str]) -> Sequence[OpeningRange]:
        if day in self.open_dates:
            return self.open_dates[day]
        if day in self.closed_dates or day in holidays:
            return ()
        return self.weekly.get(day.weekday(), ())

    def _local_us(self, day: date, moment: time | None) -> int:
        if moment is None:  # 24:00 is the next day's midnight
            day, moment = day + timedelta(days=1), time(0)
        local = datetime.combine(day, moment, tzinfo=self.tz)
        us = to_us(local)
        if from_us(us, self.tz).replace(tzinfo=None) == local.replace(tzinfo=None):
            return us
        # A wall-clock time the DST change skips (02:30 on a spring-forward night in Paris): the range
        # starts or ends at the change itself, the first instant with the offset after it. (fold=0 would
        # read it with the offset before the change, an hour late, counting time the range excludes.)
        lo, hi = to_us(local.replace(fold=1)), us
        after = from_us(hi, self.tz).utcoffset()
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if from_us(mid, self.tz).utcoffset() == after:
                hi = mid
            else:
                lo = mid
        return hi

    def _build(self, first_year: int, last_year: int) -> _Table:
        holidays = self.holidays_of(range(first_year, last_year + 1))
        starts: list[int] = []
        ends: list[int] = []
        day = date(first_year, 1, 1)
        stop = date(last_year + 1, 1, 1)
        while day < stop:
            for opening in self.ranges_of(day, holidays):
                s, e = self._local_us(day, opening.start), self._local_us(day, opening.end)
                if e <= s:  # a range swallowed by a DST gap
                    continue
                if ends and s <= ends[-1]:  # touching (24:00 then 00:00) or DST-overlapping
                    ends[-1] = max(ends[-1], e)
                    continue
                starts.append(s)
                ends.append(e)
            day += timedelta(days=1)
        cum: list[int] = []
        cumend: list[int] = []
        total = 0
        for s, e in zip(starts, ends, strict=True):
            cum.append(total)
            total += e - s
            cumend.append(total)
        lo = self._local_us(date(first_year, 1, 1), time(0))
        hi = self._local_us(stop, time(0))
        return _Table(first_year, last_year, lo, hi, starts, ends, cum, cumend)

    def _year_of(self, us: int) -> int:
        return from_us(us, self.tz).year

    def _covering(self, *instants: int) -> _Table:
        """The table, extended (by whole years, with a year of margin) to cover the instants."""
        table = self._table
        if table is not None and all(table.lo <= us < table.hi for us in instants):
            return table
        with self._lock:
            table = self._table
            years = [self._year_of(us) for us in instants]
            first, last = min(years) - 1, max(years) + 1
            if table is not None:
                first, last = min(first, table.first_year), max(last, table.last_year)
            table = self._build(first, last)
            self._table = table
            return table

    def _extended_forward(self, table: _Table, target_open: int) -> _Table:
        """Extend until the table holds `target_open` µs of open time, counted like `table` counts it.

        `target_open` is relative to `table`'s first year: the extension starts from that same year
        (another thread may meanwhile have rebuilt the shared table from an earlier year, which moves
        every cumulative offset), and is only shared when it does not drop years the shared table has.
        """
        first = table.first_year
        while not table.cumend or table.cumend[-1] < target_open:
            if table.last_year - first > _MAX_YEARS_AHEAD * 4:
                raise ValueError(f"calendar {self.name!r} has no opening in reach")
            with self._lock:
                current = self._table or table
                last = max(table.last_year, current.last_year)
                grow = max(2, (last - first) // 2)
                table = self._build(first, last + grow)
                if current.first_year >= first:
                    self._table = table
        return table

    @staticmethod
    def _open_before(table: _Table, us: int) -> int:
        i = bisect_right(table.starts, us) - 1
        if i < 0:
            return 0
        return table.cum[i] + min(us - table.starts[i], table.ends[i] - table.starts[i])

    # -- the clock ---------------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        s = to_us(start)
        d = duration_us(duration)
        if d <= 0:
            return from_us(s)
        # The hot path, inlined: the covering table as it is, `_open_before`, then the answer.
        table = self._table
        if table is None or not table.lo <= s < table.hi:
            table = self._covering(s)
        starts = table.starts
        i = bisect_right(starts, s) - 1
        target = d if i < 0 else table.cum[i] + min(s - starts[i], table.ends[i] - starts[i]) + d
        if not table.cumend or table.cumend[-1] < target:
            table = self._extended_forward(table, target)
        j = bisect_left(table.cumend, target)
        return EPOCH + _ONE_US * (table.starts[j] + (target - table.cum[j]))

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        s, e = to_us(start), to_us(end)
        if e <= s:
            return timedelta(0)
        table = self._covering(s, e)
        return timedelta(microseconds=self._open_before(table, e) - self._open_before(table, s))

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        e = to_us(end)
        d = duration_us(duration)
        if d <= 0:
            return from_us(e)
        table = self._covering(e)
        target = self._open_before(table, e) - d
        while target < 0:  # reach further back: rebuild with earlier years (cum offsets move)
            table = self._covering(table.lo - 1, e)
            target = self._open_before(table, e) - d
            if table.last_year - table.first_year > _MAX_YEARS_AHEAD * 4:
                raise ValueError(f"calendar {self.name!r} has no opening in reach")
        i = bisect_right(table.cumend, target)
        return from_us(table.starts[i] + (target - table.cum[i]))

    def is_open(self, instant: datetime) -> bool:
        us = to_us(instant)
        table = self._covering(us)
        i = bisect_right(table.starts, us) - 1
        return i >= 0 and us < table.ends[i]

    def openings(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Opening intervals clipped to [start, end): what counted, for explanations."""
        s, e = to_us(start), to_us(end)
        if e <= s:
            return []
        table = self._covering(s, e)
        i = max(bisect_right(table.starts, s) - 1, 0)
        out: list[tuple[datetime, datetime]] = []
        while i < len(table.starts) and table.starts[i] < e:
            lo, hi = max(table.starts[i], s), min(table.ends[i], e)
            if hi > lo:
                out.append((from_us(lo, self.tz), from_us(hi, self.tz)))
            i += 1
        return out

    # -- the vectorized path -----------------------------------------------------------------------

    def _arrays_for(self, table: _Table) -> _Arrays:
        arrays = self._arrays
        if arrays is None or arrays.table is not table:
            starts = np.asarray(table.starts, dtype=np.int64)
            ends = np.asarray(table.ends, dtype=np.int64)
            arrays = _Arrays(
                table,
                starts,
                ends - starts,
                np.asarray(table.cum, dtype=np.int64),
                np.asarray(table.cumend, dtype=np.int64),
            )
            self._arrays = arrays
        return arrays

    def add_many(self, starts_us: IntArray, duration: timedelta) -> IntArray:
        """`add` for an array of UTC epoch-µs start instants at once (same answers)."""
        d = duration_us(duration)
        starts_us = np.asarray(starts_us, dtype=np.int64)
        if d <= 0 or starts_us.size == 0:
            return starts_us.copy()
        table = self._covering(int(starts_us.min()), int(starts_us.max()))
        a = self._arrays_for(table)
        i = np.searchsorted(a.starts, starts_us, side="right") - 1
        ic = np.maximum(i, 0)
        before = np.where(i >= 0, a.cum[ic] + np.minimum(starts_us - a.starts[ic], a.lens[ic]), 0)
        target = before + d
        needed = int(target.max())
        if a.cumend.size == 0 or needed > int(a.cumend[-1]):
            a = self._arrays_for(self._extended_forward(table, needed))
        j = np.searchsorted(a.cumend, target, side="left")
        return np.asarray(a.starts[j] + (target - a.cum[j]), dtype=np.int64)


def parse_range(text: str) -> OpeningRange:
    """'09:00-18:00' → OpeningRange; '24:00' is accepted as an end."""
    try:
        left, right = (part.strip() for part in text.split("-"))
        start = time.fromisoformat(left)
        end = None if right == "24:00" else time.fromisoformat(right)
    except ValueError as exc:
        raise ValueError(_("plage horaire invalide « {text} » (attendu HH:MM-HH:MM)").format(text=text)) from exc
    if end is not None and end <= start:
        raise ValueError(_("plage horaire invalide « {text} » : la fin doit suivre le début").format(text=text))
    return OpeningRange(start, end)
