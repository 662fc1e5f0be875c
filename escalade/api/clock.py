"""The API's one reading of the clock: tests monkeypatch `escalade.api.clock.now`."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
