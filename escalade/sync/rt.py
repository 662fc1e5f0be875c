"""Request Tracker 5 through its REST 2 API (the `rt` package): the tickets changed since a cursor,
a ticket's transactions, and comments written back. Only I/O here; what a change means for the
incident is `services`'."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2
import rt.rest2

TRANSACTION_FIELDS = "Type,Field,OldValue,NewValue,Created,Creator"
TICKET_FIELDS = "Subject,Status,Queue,Priority,InitialPriority,Created,LastUpdated"
PAGE = 100  # tickets, and transactions, per REST call: a back-fill reads RT in a few hundred calls


@dataclass(frozen=True)
class RTSettings:
    url: str  # https://rt.example.com (the REST 2 path is added)
    user: str = ""
    password: str = ""
    token: str = ""
    number_prefix: str = "RT-"  # ticket 123 is incident RT-123 (the policy's pattern must accept it)
    queues: dict[str, str] = field(default_factory=dict)  # queue name → customer code (default: the same)
    priorities: tuple[tuple[int, str], ...] = ((70, "high"), (40, "medium"), (0, "low"))  # RT priority ≥ n → key
    timeout: float = 10.0

    def customer_of(self, queue: str) -> str:
        return self.queues.get(queue, queue)

    def priority_of(self, value: object) -> str:
        try:
            number = int(str(value))
        except ValueError:
            number = 0
        for floor, key in self.priorities:
            if number >= floor:
                return key
        return self.priorities[-1][1]


def parse_mapping(text: str) -> dict[str, str]:
    """'queue=customer,queue2=customer2'."""
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {left.strip(): right.strip() for left, right in pairs}


def parse_priorities(text: str) -> tuple[tuple[int, str], ...]:
    """'high:70,medium:40,low:0' → ((70, 'high'), (40, 'medium'), (0, 'low')), highest first."""
    pairs = []
    for item in text.split(","):
        key, _, floor = item.partition(":")
        if key.strip() and floor.strip():
            pairs.append((int(floor), key.strip()))
    return tuple(sorted(pairs, reverse=True))


def instant(text: str | None) -> datetime | None:
    """RT's '2026-12-03T06:27:07Z' (REST 2 answers in UTC); RT's 'not set' is None."""
    if not text or text.startswith("1970-01-01"):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class _Client(rt.rest2.Rt):
    def _paged(self, selector: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return self._Rt__paged_request(selector, params=params, per_page=PAGE)  # type: ignore[attr-defined,no-any-return]

    def transactions(self, ticket_id: int) -> list[dict[str, Any]]:
        # The package's get_ticket_history leaves out Field/OldValue/NewValue, which say what changed.
        return list(self._paged(f"ticket/{ticket_id}/history",
                                {"fields": TRANSACTION_FIELDS, "fields[Creator]": "Name"}))

    def tickets(self, query: str) -> Iterator[dict[str, Any]]:
        """The tickets of a TicketSQL query with the fields the sync reads, oldest change first."""
        return self._paged("tickets", {"query": query, "orderby": "LastUpdated", "order": "ASC",
                                       "fields": TICKET_FIELDS, "fields[Queue]": "Name"})

    def transactions_of(self, ticket_ids: Iterable[int]) -> Iterator[dict[str, Any]]:
        """Every transaction of these tickets, in one TransactionSQL search."""
        ids = " OR ".join(f"ObjectId = {int(i)}" for i in ticket_ids)
        return self._paged("transactions", {"query": f"ObjectType = 'RT::Ticket' AND ({ids})", "orderby": "id",
                                            "fields": TRANSACTION_FIELDS + ",ObjectId", "fields[Creator]": "Name"})


class RequestTracker:
    name = "rt"

    def __init__(self, settings: RTSettings) -> None:
        self.settings = settings
        auth = httpx2.BasicAuth(settings.user, settings.password) if settings.user else None
        self.client = _Client(settings.url.rstrip("/") + "/REST/2.0/", http_auth=auth, token=settings.token or None,
                              http_timeout=int(settings.timeout))
        self._queues: dict[str, str] = {}

    @staticmethod
    def _since(cursor: datetime | None) -> str:
        return "id > 0" if cursor is None else f"LastUpdated >= '{cursor.astimezone(UTC):%Y-%m-%d %H:%M:%S}'"

    def changed(self, cursor: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """The tickets changed at or after `cursor` (all of them when None), oldest change first, a
        page at a time, each with its queue's name in `QueueName`. RT reads the instant in its own
        zone: written in UTC, a zone east of UTC only widens the window, and a change seen twice is
        recognised by its transaction id."""
        page: list[dict[str, Any]] = []
        for found in self.client.tickets(self._since(cursor)):
            queue = found.get("Queue")
            found["QueueName"] = str(queue.get("Name") or "") if isinstance(queue, dict) else ""
            page.append(found)
            if len(page) == PAGE:
                yield page
                page = []
        if page:
            yield page

    def histories(self, ticket_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """The transactions of each of these tickets (a page of `changed`)."""
        found: dict[int, list[dict[str, Any]]] = {i: [] for i in ticket_ids}
        for txn in self.client.transactions_of(ticket_ids):
            found.setdefault(int(txn["ObjectId"]), []).append(txn)
        return found

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """The ticket, its queue's name in `QueueName`."""
        found = self.client.get_ticket(ticket_id)
        queue = found.get("Queue") or {}
        name = queue.get("Name") if isinstance(queue, dict) else None
        if name is None and isinstance(queue, dict) and queue.get("id"):
            if queue["id"] not in self._queues:
                self._queues[queue["id"]] = self.client.get_queue(queue["id"])["Name"]
            name = self._queues[queue["id"]]
        found["QueueName"] = name or ""
        return found

    def transactions(self, ticket_id: int) -> list[dict[str, Any]]:
        return self.client.transactions(ticket_id)

    def comment(self, ticket_id: int, text: str) -> None:
        self.client.comment(ticket_id, content=text)

    def ticket_id(self, request_number: str) -> int | None:
        prefix = self.settings.number_prefix
        tail = request_number[len(prefix):]
        return int(tail) if request_number.startswith(prefix) and tail.isdigit() else None
