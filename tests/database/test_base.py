"""Escalade's PostgreSQL backend: a kept connection is checked before a request's first query
without a round trip when it is quiet, and replaced when the server has ended its session."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import close_old_connections, connection


@pytest.fixture
def kept(transactional_db: None) -> Iterator[None]:
    """The test's connection as a server's is between two requests: open, idle, health checks on."""
    if connection.vendor != "postgresql":
        pytest.skip("the health check is the PostgreSQL backend's")
    # A new connection: one older than CONN_MAX_AGE (60 s, reached in a long run) would be closed
    # for its age when the request starts, whatever its health.
    connection.close()
    connection.ensure_connection()
    previous = connection.health_check_enabled
    connection.health_check_enabled = True
    yield
    connection.health_check_enabled = previous


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_quiet_idle_connection_is_kept_without_a_round_trip(kept: None, monkeypatch) -> None:
    pid = backend_pid()
    checks: list[str] = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append("SELECT 1") or True)
    close_old_connections()  # a request starts
    assert backend_pid() == pid
    assert checks == []


def test_a_connection_the_server_ended_is_replaced_before_the_request_s_first_query(kept: None) -> None:
    pid = backend_pid()
    with psycopg.connect(os.environ["ESCALADE_TEST_DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    _wait_until_readable(connection.connection.fileno())
    close_old_connections()  # a request starts
    assert backend_pid() != pid  # a new session, and no error for the request


def test_a_connection_in_a_transaction_is_checked_by_a_query(kept: None, monkeypatch) -> None:
    checks: list[str] = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append("SELECT 1") or True)
    connection.health_check_done = False
    connection.connection.execute("BEGIN")  # what `_quiet` cannot vouch for
    try:
        connection.close_if_health_check_failed()
    finally:
        connection.connection.execute("ROLLBACK")
    assert checks == ["SELECT 1"]


def _wait_until_readable(fd: int) -> None:
    """The server ends the session asynchronously: its error reaches the socket a moment later."""
    deadline = time.monotonic() + 10
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    while not poll.poll(100):
        assert time.monotonic() < deadline, "the terminated session's socket never became readable"
