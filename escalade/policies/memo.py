"""What this process has read of the policy versions (`store` reads, `services` forgets after a write)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from escalade.core.policy import Policy


@dataclass(frozen=True)
class VersionInfo:
    id: int
    name: str
    number: int
    digest: str


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = -1e18
        self.by_id: dict[int, VersionInfo] = {}
        self.latest: dict[str, VersionInfo] = {}
        self.parsed: dict[str, Policy] = {}  # by digest: the same text is parsed once
        self.merged: dict[tuple[str, str], Policy] = {}

    def clear(self) -> None:
        with self.lock:
            self.checked_at = -1e18
            self.by_id, self.latest, self.merged = {}, {}, {}


registry = _Registry()


def clear() -> None:
    """Forget what was read (after a write in this process, and between tests)."""
    registry.clear()
