"""A second policy beside HIPCOM's: the shipped four-priority example, loaded as "gold", followed by
customer B's contract."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest


def gold_text() -> str:
    return resources.files("escalade.policies").joinpath("example-gold.toml").read_text(encoding="utf-8")


@pytest.fixture
def gold(world: Any) -> Any:
    from escalade.incidents.models import Contract
    from escalade.policies import services

    version, _policy, _created = services.save_version("gold", gold_text(), label="tests")
    Contract.objects.filter(customer=world.customer_b).update(policy="gold")
    world.customer_b.refresh_from_db()
    return version
