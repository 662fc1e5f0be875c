"""API fixtures: a controllable clock, a token per role, and incidents made through the services."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

ACTORS = ("anonymous", "customer_a", "customer_b", "partner_a", "partner_none", "staff", "admin")


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch, paris_noon: datetime) -> datetime:
    """The API's clock, frozen at Friday 2026-11-27 12:00 Paris."""
    monkeypatch.setattr("escalade.api.clock.now", lambda: paris_noon)
    return paris_noon


@pytest.fixture
def tokens(world: Any) -> dict[str, str]:
    from escalade.accounts.models import ApiToken

    return {name: ApiToken.issue(user, name="tests")[1] for name, user in world.users.items()}


class Api:
    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.client = Client()

    def __call__(self, method: str, path: str, who: str = "staff", body: Any = None, **headers: str) -> Any:
        if who != "anonymous":
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.tokens[who]}")
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": body if isinstance(body, str) else json.dumps(body),
                      "content_type": "application/json"}
        response = getattr(self.client, method.lower())(f"/api/v1{path}", **kwargs, **headers)
        response.body = json.loads(response.content) if response.content else None
        return response


@pytest.fixture
def api(tokens: dict[str, str], now: datetime) -> Api:
    return Api(tokens)


@pytest.fixture
def make_incident(world: Any, now: datetime) -> Callable[..., Any]:
    """An incident opened `ago` before now, stored through the service as an integration would."""
    from escalade.incidents.models import Channel
    from escalade.incidents.services import IncidentInput, upsert_incident

    def make(number: str, customer: str = "client-a", priority: str = "high",
             ago: timedelta = timedelta(hours=1), **facts: Any) -> Any:
        data = IncidentInput(request_number=number, customer=customer, priority=priority,
                             opened_at=now - ago, **facts)
        return upsert_incident(data, user=None, channel=Channel.SYSTEM, now=now)[0]

    return make


# What the schemathesis runs sent and got (test_schemathesis.py), printed at the end of the session.
FUZZ_FIGURES: dict[str, Any] = {"requests": 0, "5xx": 0, "operations": set()}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FUZZ_FIGURES["requests"]:
        failed = [r for r in terminalreporter.stats.get("failed", []) if "test_schemathesis" in r.nodeid]
        terminalreporter.write_line(
            f"schemathesis: {FUZZ_FIGURES['requests']} requests over {len(FUZZ_FIGURES['operations'])} "
            f"operations x 5 roles (up to {os.environ.get('ESCALADE_FUZZ_EXAMPLES', '12')} examples each, "
            f"then the stateful phase), {FUZZ_FIGURES['5xx']} answered 5xx, "
            f"{len(failed)} test(s) with answers outside the document"
        )
