"""The report of the last N months, from sealed months where it can and from the incidents elsewhere.

A month that has ended and holds no open incident is sealed by the worker (`seal_ended`, hourly) and
by `escalade demo`: its rows are computed once (`compute.cells`) and kept with the sum of its days'
change counters. Reports read those rows (a few hundred per month instead of tens of thousands of
incidents) while the sum is unchanged; a change to one of its incidents, committed whenever and by
whatever, moves the sum (the triggers of `models`), and the month is read from the incidents again
until the worker seals it anew. This month, and any month with an open incident, is always computed
from the incidents: its figures depend on the time. A report writes nothing.

The figures are the same either way: a sealed row is the live query's row, kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Func, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from escalade.incidents.models import Incident
from escalade.reports import compute
from escalade.reports.models import ChangedDay, SealedCell, SealedMonth

log = logging.getLogger(__name__)

# How long sealing a month for the first time may wait for transactions already writing incidents
# (the month is then computed from the incidents, and sealed by a later report).
DRAIN_TIMEOUT = "500ms"
MONTHS_KEPT = 12  # the longest report


@dataclass(frozen=True)
class Month:
    starts_at: datetime  # first instant, in the policy's zone
    ends_at: datetime

    @property
    def first_day(self) -> date:
        return self.starts_at.astimezone(UTC).date()

    @property
    def last_day(self) -> date:
        return (self.ends_at - timedelta(microseconds=1)).astimezone(UTC).date()


def months(now: datetime, count: int, zone: ZoneInfo) -> list[Month]:
    """The last `count` months of `zone` up to the one holding `now`, oldest first."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    out = []
    for _i in range(count):
        start = datetime(year, month, 1, tzinfo=zone)
        following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
        out.append(Month(start, following))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def report(now: datetime, count: int, zone: ZoneInfo, policy_levels: tuple[int, ...]) -> list[compute.ReportRow]:
    """The report's rows for the last `count` months, newest month first (then customer code, priority)."""
    wanted = months(now, count, zone)
    sealed = _valid_seals(wanted)
    live = [m for m in wanted if m.starts_at not in sealed]
    cells = _sealed_cells([m.starts_at for m in wanted if m.starts_at in sealed], zone)
    if live:
        cells += compute.cells(Incident.objects.filter(_opened_in(live)), now)
    cells.sort(key=lambda c: c.month, reverse=True)  # stable: each month comes from one ordered read
    return [compute.row(cell, policy_levels) for cell in cells]


def seal_ended(now: datetime, zone: ZoneInfo, count: int = MONTHS_KEPT) -> int:
    """Seal the last `count` ended months that are not sealed or changed since; how many were."""
    ended = months(now, count + 1, zone)[:-1]
    sealed = _valid_seals(ended)
    done = 0
    for month in ended:
        if month.starts_at not in sealed:
            try:
                done += seal(month, now) is not None
            except IntegrityError:  # another worker sealed it at the same moment
                continue
    return done


def seal(month: Month, now: datetime) -> SealedMonth | None:
    """Compute and keep `month`'s rows, or None when they may still change (an open incident, a
    month not ended) or when writers to the incidents did not finish in time."""
    if month.ends_at > now or Incident.objects.filter(
            resolved_at__isnull=True, opened_at__gte=month.starts_at, opened_at__lt=month.ends_at).exists():
        return None
    days = [month.first_day + timedelta(days=k) for k in range((month.last_day - month.first_day).days + 1)]
    have = set(ChangedDay.objects.filter(day__in=days).values_list("day", flat=True))
    if len(have) < len(days):
        ChangedDay.objects.bulk_create([ChangedDay(day=d) for d in days if d not in have], ignore_conflicts=True)
        if not _writers_drained():
            return None
    # The sum first, the rows after: a change the rows miss is one the sum misses too, so it will
    # make the seal stale; a change counted but also seen only costs a recomputation.
    generations = _generations(month)
    cells = compute.cells(Incident.objects.filter(opened_at__gte=month.starts_at, opened_at__lt=month.ends_at), now)
    with transaction.atomic():
        SealedMonth.objects.filter(starts_at=month.starts_at).delete()
        sealed = SealedMonth.objects.create(
            starts_at=month.starts_at, ends_at=month.ends_at, first_day=month.first_day, last_day=month.last_day,
            generations=generations, sealed_at=now)
        SealedCell.objects.bulk_create([
            SealedCell(
                month=sealed, customer_id=c.customer_id, priority=c.priority, incidents=c.incidents,
                take_charge_judged=c.take_charge_judged, take_charge_met=c.take_charge_met,
                resolution_judged=c.resolution_judged, resolution_met=c.resolution_met,
                take_charge_mean=c.take_charge_mean, take_charge_p95=c.take_charge_p95,
                resolution_mean=c.resolution_mean, resolution_p95=c.resolution_p95,
                escalations={str(level): n for level, n in c.escalations.items()})
            for c in cells
        ])
    return sealed


def _writers_drained() -> bool:
    """Wait for the transactions already writing incidents or escalations (PostgreSQL).

    A counter created now is not bumped by a transaction whose trigger ran before it existed: such a
    transaction must have committed before the month is read. SHARE mode waits for every holder of
    ROW EXCLUSIVE (any INSERT, UPDATE, DELETE under way) and is released at once. SQLite has one
    writer at a time: creating the counters already waited for it."""
    if connection.vendor != "postgresql":
        return True
    tables = ", ".join(connection.ops.quote_name(t) for t in ("incidents_incident", "escalations_escalation"))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            before = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [DRAIN_TIMEOUT])
            cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
    except DatabaseError:
        log.info("reports: writers still busy after %s, the month will be sealed later", DRAIN_TIMEOUT)
        return False
    return True


def _day_sum(first: object, last: object) -> Subquery:
    return Subquery(ChangedDay.objects.filter(day__gte=first, day__lte=last).order_by()
                    .values(total=Func(F("generation"), function="SUM", output_field=IntegerField())))


def _generations(month: Month) -> int:
    days = ChangedDay.objects.filter(day__gte=month.first_day, day__lte=month.last_day)
    return int(days.aggregate(total=Coalesce(Sum("generation"), 0))["total"])


def _valid_seals(wanted: list[Month]) -> set[datetime]:
    """The wanted months sealed and unchanged since (one query)."""
    ends = {m.starts_at: m.ends_at for m in wanted}
    found = (SealedMonth.objects.filter(starts_at__in=list(ends))
             .annotate(now_counted=Coalesce(_day_sum(OuterRef("first_day"), OuterRef("last_day")), 0))
             .values_list("starts_at", "ends_at", "generations", "now_counted"))
    return {start for start, end, sealed, counted in found if sealed == counted and ends.get(start) == end}


def _sealed_cells(starts: list[datetime], zone: ZoneInfo) -> list[compute.Cell]:
    if not starts:
        return []
    rows = (SealedCell.objects.filter(month__starts_at__in=starts)
            .values_list("month__starts_at", "customer_id", "customer__code", "customer__name", "priority",
                         "incidents", "take_charge_judged", "take_charge_met", "resolution_judged", "resolution_met",
                         "take_charge_mean", "take_charge_p95", "resolution_mean", "resolution_p95", "escalations")
            .order_by("-month__starts_at", "customer__code", "priority"))
    return [compute.Cell(start.astimezone(zone), *rest[:-1], escalations={int(k): n for k, n in rest[-1].items()})
            for start, *rest in rows]


def _opened_in(live: list[Month]) -> Q:
    """Incidents opened in these months, contiguous months as one range; the last range stays open
    (this month: an incident dated ahead stays in it, as the report always had it)."""
    ranges: list[list[datetime]] = []
    for month in live:
        if ranges and ranges[-1][1] == month.starts_at:
            ranges[-1][1] = month.ends_at
        else:
            ranges.append([month.starts_at, month.ends_at])
    q = Q()
    for i, (start, end) in enumerate(ranges):
        last = i == len(ranges) - 1
        q |= Q(opened_at__gte=start) if last else Q(opened_at__gte=start, opened_at__lt=end)
    return q
