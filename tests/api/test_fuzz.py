"""Whatever JSON arrives, the API answers a problem (4xx) or a success, never a 500."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() \
    | st.text(max_size=40)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
ESCALATION_KEYS = ("request_number", "level", "reason", "channel", "on_behalf_of")
INCIDENT_KEYS = ("request_number", "customer", "priority", "track", "gtr", "opened_at", "acknowledged_at",
                 "resolved_at", "title")
EVENT_KEYS = ("kind", "at", "priority", "note")


def bodies(keys):
    known = st.fixed_dictionaries({}, optional={k: values | st.sampled_from(
        ["REQ-1001", "client-a", "high", "low", "support", "2026-11-27T10:00:00+01:00", "acknowledge", "pause", 2]
    ) for k in keys})
    return known | values


@pytest.fixture
def incident(make_incident):
    """Created once per test (not per example): the examples share it, as they share the database."""
    return make_incident("REQ-1001", ago=timedelta(hours=1))


# 60 examples in `make test`; `make fuzz` sets ESCALADE_FUZZ_EXAMPLES for the larger campaign.
FUZZ = settings(max_examples=max(60, int(os.environ.get("ESCALADE_FUZZ_EXAMPLES", "0")) * 5), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_no_500(response):
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert json.loads(response.content)["code"]


@FUZZ
@given(body=bodies(ESCALATION_KEYS))
def test_escalation_requests_never_fail_with_a_500(api, incident, body):
    assert_no_500(api("POST", "/escalations", "partner_a", json.dumps(body)))


@FUZZ
@given(body=bodies(INCIDENT_KEYS))
def test_incident_writes_never_fail_with_a_500(api, body):
    assert_no_500(api("POST", "/incidents", "customer_a", json.dumps(body)))


@FUZZ
@given(body=bodies(EVENT_KEYS))
def test_events_never_fail_with_a_500(api, incident, body):
    assert_no_500(api("POST", "/incidents/REQ-1001/events", "staff", json.dumps(body)))


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["status", "priority", "customer", "track", "page", "page_size",
                                              "acknowledged", "level", "request_number"]),
                             st.text(max_size=12), max_size=4))
def test_list_filters_never_fail_with_a_500(api, query):
    from urllib.parse import urlencode

    assert_no_500(api("GET", "/incidents?" + urlencode(query)))
    assert_no_500(api("GET", "/escalations?" + urlencode(query)))
