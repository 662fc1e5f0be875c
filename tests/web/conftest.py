"""Incidents for the pages: created through the services, relative to the real clock (the pages
read it), so the live states are the ones a person would see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from .support import log_in, make_incident

PASSWORDS = {
    "customer_a": ("cust-a", "pw-a-12345"),
    "customer_b": ("cust-b", "pw-b-12345"),
    "partner_a": ("part-p", "pw-p-12345"),
    "partner_none": ("part-x", "pw-x-12345"),
    "staff": ("staff", "pw-s-12345"),
    "admin": ("admin", "pw-adm-12345"),
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Page tests log in hundreds of times: a fast hasher keeps the suite short (never in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def incidents(world):
    """A: a breached high incident (level 1 open), a running medium one, a resolved one, a low one
    in business time; B: a breached medium one."""
    return {
        "breached": make_incident("REQ-1001", "client-a", "high", timedelta(minutes=65)),
        "running": make_incident("REQ-1002", "client-a", "medium", timedelta(minutes=20)),
        "resolved": make_incident("REQ-1003", "client-a", "high", timedelta(hours=5),
                                  acknowledged_at=timedelta(hours=4, minutes=50), resolved_at=timedelta(hours=2)),
        "low": make_incident("REQ-1004", "client-a", "low", timedelta(days=3)),
        "other": make_incident("REQ-2001", "client-b", "medium", timedelta(hours=4)),
    }


@pytest.fixture
def login(world):
    def client_for(role: str | None) -> Client:
        client = Client()
        if role is not None:
            username, password = PASSWORDS[role]
            assert log_in(client, username, password)
        return client

    return client_for
