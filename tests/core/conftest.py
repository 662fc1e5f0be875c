"""Fixtures of the core's tests: HIPCOM's policy as shipped (shared/procedure-hipcom.md)."""

from __future__ import annotations

import pytest

from escalade.core.calendar import BusinessCalendar
from escalade.core.policy import Policy
from escalade.policies import load_policy, policy_text


@pytest.fixture(scope="session")
def hipcom() -> Policy:
    return load_policy()


@pytest.fixture(scope="session")
def hipcom_text() -> str:
    return policy_text()


@pytest.fixture(scope="session")
def business(hipcom: Policy) -> BusinessCalendar:
    """HIPCOM's "heures et jours ouvrés": Monday–Friday 09:00–18:00 Europe/Paris, French holidays."""
    return hipcom.calendars["heures-ouvrees"]
