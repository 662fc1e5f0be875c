"""Helpers shared by the page and browser tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone


def make_incident(number: str, customer: str, priority: str, ago: timedelta, **facts: object):
    from escalade.incidents.services import IncidentInput, upsert_incident

    now = timezone.now()
    data = {k: (now - v if isinstance(v, timedelta) else v) for k, v in facts.items()}
    incident, _ = upsert_incident(
        IncidentInput(request_number=number, customer=customer, priority=priority, opened_at=now - ago,
                      title=f"Incident {number}", **data),
        user=None, channel="api", now=now,
    )
    return incident


def log_in(client, username: str, password: str) -> bool:
    """`Client.login` through django-axes, which needs the request (as the login form gives it)."""
    from django.test import RequestFactory

    return client.login(request=RequestFactory().post("/connexion/"), username=username, password=password)
