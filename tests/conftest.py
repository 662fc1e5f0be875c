"""Shared fixtures: the seed procedure's organisations and a user of every role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

PG_URL = os.environ.get("ESCALADE_TEST_DATABASE_URL")


def pytest_configure(config: pytest.Config) -> None:
    """CI must fail loudly if PostgreSQL was asked for but cannot be reached."""
    if not PG_URL:
        return
    import psycopg

    try:
        # Without Escalade's own options (?prepare_threshold=…), which libpq does not know.
        psycopg.connect(PG_URL.split("?", 1)[0], connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        raise pytest.UsageError(f"ESCALADE_TEST_DATABASE_URL is set but unreachable: {exc}") from exc


@pytest.fixture(autouse=True)
def _each_test_starts_in_the_default_language() -> Iterator[None]:
    """A request through the test client leaves its language active in this thread (LocaleMiddleware
    activates it, nothing deactivates it): an English request must not word the next test."""
    yield
    from django.conf import settings

    if settings.configured:
        from django.utils import translation

        translation.deactivate()
        from django.apps import apps

        if apps.ready:  # the policy versions read are this test's database's: forgotten with it
            from escalade.policies import store

            store.clear()
            from escalade import bulk

            bulk.forget_estimates()  # estimates of rows the test's rollback removed


@pytest.fixture(scope="session", autouse=True)
def _children_use_the_service_settings() -> Iterator[None]:
    """This process runs on tests/settings.py; the `escalade` processes that tests start read the
    environment they are given, as in production (Django is configured here before any fixture).
    The core's tests alone (`make test-fast`, without pytest-django) start no process and need none."""
    from django.conf import settings

    if not settings.configured:
        yield
        return
    previous = os.environ.get("DJANGO_SETTINGS_MODULE")
    os.environ["DJANGO_SETTINGS_MODULE"] = "escalade.settings"
    # They run in the development profile (known key, plain HTTP on loopback), as `make demo` does.
    os.environ.setdefault("ESCALADE_DEV", "1")
    yield
    if previous is not None:
        os.environ["DJANGO_SETTINGS_MODULE"] = previous


def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@dataclass
class World:
    """Customer A (managed by partner P), customer B (no partner), and users of every role."""

    partner: object
    other_partner: object
    customer_a: object
    customer_b: object
    users: dict[str, object]


@pytest.fixture
def world(db: None) -> World:
    from escalade.accounts.models import User
    from escalade.incidents.models import Contract, Customer, Partner

    partner = Partner.objects.create(code="partenaire-p", name="Partenaire P")
    other = Partner.objects.create(code="partenaire-vide", name="Partenaire sans client")
    a = Customer.objects.create(code="client-a", name="Client A", partner=partner)
    Contract.objects.create(customer=a, gtr=True)
    b = Customer.objects.create(code="client-b", name="Client B")
    Contract.objects.create(customer=b, gtr=False)
    users = {
        "customer_a": User.objects.create_user("cust-a", "a@client-a.fr", "pw-a-12345", role="customer", customer=a),
        "customer_b": User.objects.create_user("cust-b", "b@client-b.fr", "pw-b-12345", role="customer", customer=b),
        "partner_a": User.objects.create_user("part-p", "p@partenaire.fr", "pw-p-12345", role="partner", partner=partner),
        "partner_none": User.objects.create_user("part-x", "x@partenaire.fr", "pw-x-12345", role="partner", partner=other),
        "staff": User.objects.create_user("staff", "staff@hipcom.fr", "pw-s-12345", role="staff"),
        "admin": User.objects.create_superuser("admin", "admin@hipcom.fr", "pw-adm-12345", role="admin"),
    }
    return World(partner, other, a, b, users)


@pytest.fixture
def smtp(settings: Any) -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free local port, with Django's mailers pointing at it."""
    from notifications.support import SMTPSink

    sink = SMTPSink().start()
    settings.MAILERS = sink.mailers()
    yield sink
    sink.stop()


@pytest.fixture
def paris_noon() -> datetime:
    """A fixed Friday, 2026-11-27 12:00 Europe/Paris (11:00 UTC)."""
    return datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


@pytest.fixture
def policy_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that count queries: the policy store looks for a newer version every 2 s, one query
    whatever the data, which the clock puts in one measure or another. What the test writes first
    loads the policy; after that it is not looked up again."""
    from escalade.policies import store

    monkeypatch.setattr(store, "FRESH_SECONDS", 3600.0)


@pytest.fixture
def plan_indexes() -> Any:
    """The indexes PostgreSQL's plan of a SELECT reads (`EXPLAIN (FORMAT JSON)`), in plan order.
    `seqscan=False` plans as if the tables were large (a test's tables would be read whole)."""
    from django.db import connection

    def indexes(node: dict[str, Any]) -> list[str]:
        return [*([node["Index Name"]] if "Index Name" in node else []),
                *(name for child in node.get("Plans", []) for name in indexes(child))]

    def plan(sql: str, *, seqscan: bool = True) -> list[str]:
        import json

        with connection.cursor() as cursor:
            if not seqscan:
                cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
            found = cursor.fetchone()[0]
            if not seqscan:
                cursor.execute("SET LOCAL enable_seqscan = on")
        return indexes((json.loads(found) if isinstance(found, str) else found)[0]["Plan"])

    return plan
