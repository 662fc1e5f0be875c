"""Abuse limits in fixed windows, counted in the database (one upsert per hit), so that they hold
across web processes and machines. A limited caller gets a 429 with Retry-After and a detail in the
reader's language.

Rates come from settings.THROTTLE_RATES ("COUNT/SECONDS"). Windows are aligned on the epoch, so every
process agrees on which window an instant belongs to.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils.translation import gettext as _

from escalade.accounts.models import RateCounter
from escalade.core.messages import format_duration
from escalade.errors import ServiceError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Throttled(ServiceError):
    status = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__("rate_limited", detail, retry_after=retry_after)
        self.retry_after = retry_after


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or behind settings.PROXY_COUNT reverse proxies the address
    the outermost one saw (X-Forwarded-For, counted from the right: the left part is the client's say)."""
    if settings.PROXY_COUNT:
        chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(chain) >= settings.PROXY_COUNT:
            return chain[-settings.PROXY_COUNT]
    return str(request.META.get("REMOTE_ADDR", ""))


def _window(name: str, now: datetime) -> tuple[int, int, datetime]:
    count, seconds = settings.THROTTLE_RATES[name]
    index = int((now - EPOCH).total_seconds() // seconds)
    return count, index, EPOCH + timedelta(seconds=(index + 1) * seconds)


def _retry_after(ends: datetime, now: datetime) -> int:
    return max(1, math.ceil((ends - now).total_seconds()))


def _refusal(detail: str, ends: datetime, now: datetime) -> Throttled:
    wait = _retry_after(ends, now)
    when = _("{seconds} s").format(seconds=wait) if wait < 120 else format_duration(timedelta(minutes=math.ceil(wait / 60)))
    return Throttled(_("{detail} Réessayez dans {when}.").format(detail=detail, when=when), wait)


def hit(name: str, subject: str, now: datetime) -> int:
    """Count one event for `subject` under limit `name`; the count so far in the window."""
    _, index, ends = _window(name, now)
    table = RateCounter._meta.db_table
    # INSERT … ON CONFLICT … RETURNING: one statement, atomic on SQLite and PostgreSQL alike, so no
    # transaction of its own (a savepoint inside the caller's, or BEGIN and COMMIT outside one, were
    # two more round trips in each escalation request).
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", "count", "expires_at") VALUES (%s, 1, %s) '
            f'ON CONFLICT ("key") DO UPDATE SET "count" = {table}."count" + 1 RETURNING "count"',
            [counter_key(name, subject, now), connection.ops.adapt_datetimefield_value(ends)],
        )
        (count,) = cursor.fetchone()
        if count == 1 and _swept.get(name) != index:
            # A new window: the expired counters (every subject's) are of no use any more. Once per
            # limit and window in a process, not at each subject's first event: a mass outage's
            # escalations each counted a new incident, and each swept the table again.
            RateCounter.objects.filter(expires_at__lte=now).delete()
            _swept[name] = index
    return int(count)


# A limit's name → the last window in which this process swept the expired counters. A sweep lost
# with its transaction is harmless: expired counters are never read (a window is part of the key).
_swept: dict[str, int] = {}


def spend(name: str, subject: str, now: datetime, detail: str) -> None:
    """Count one event; refuse it (429) when it goes over the limit."""
    limit, _, ends = _window(name, now)
    if hit(name, subject, now) > limit:
        raise _refusal(detail, ends, now)


def counter_key(name: str, subject: str, now: datetime) -> str:
    """The key of `subject`'s counter for limit `name` in the window of `now`."""
    _, index, _ = _window(name, now)
    return f"{name}:{subject}:{index}"[:200]


def refuse_if_over(name: str, counted: int | None, now: datetime, detail: str) -> None:
    """Refuse (429) while the count read with what it guards (`ApiToken.find(failures_key=…)`)
    has reached the limit, without counting."""
    limit, _, ends = _window(name, now)
    if counted is not None and counted >= limit:
        raise _refusal(detail, ends, now)


