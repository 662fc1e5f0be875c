"""The benchmarks are scripts outside the suite: what they import from Escalade must still exist
(bench_burst.py imported a function removed with the policy versions, and nothing noticed)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


def _imports(path: Path) -> list[tuple[int, str, str]]:
    return [(node.lineno, node.module, alias.name)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("escalade")
            for alias in node.names if alias.name != "*"]


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_every_name_a_benchmark_imports_from_escalade_exists(path: Path) -> None:
    missing = []
    for line, module_name, name in _imports(path):
        module = importlib.import_module(module_name)
        if not hasattr(module, name):
            try:
                importlib.import_module(f"{module_name}.{name}")
            except ImportError:
                missing.append(f"line {line}: from {module_name} import {name}")
    assert not missing, missing


def test_the_check_sees_the_benchmarks_imports() -> None:
    burst = next(p for p in BENCHMARKS if p.name == "bench_burst.py")
    assert ("escalade.policies", "store") in {(m, n) for _, m, n in _imports(burst)}


@pytest.fixture
def floors(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """bench_api's floors (benchmarks/trivial_urls.py) served by Django's test client."""
    from django.test import Client
    from django.urls import clear_url_caches

    monkeypatch.syspath_prepend(str(BENCHMARKS[0].parent))
    settings.ROOT_URLCONF = "trivial_urls"
    clear_url_caches()
    yield Client()
    clear_url_caches()


def test_the_api_floors_authenticate_and_read_within_the_caller_s_scope(floors, world, paris_noon) -> None:
    """A floor that skipped the token's check, or read another scope, would make the API's rows look
    closer to their floor than they are."""
    from escalade.accounts.models import ApiToken
    from escalade.incidents.models import Channel
    from escalade.incidents.services import IncidentInput, upsert_incident

    for number, customer in (("REQ-1001", "client-a"), ("REQ-1002", "client-b")):
        upsert_incident(IncidentInput(request_number=number, customer=customer, priority="high",
                                      opened_at=paris_noon.isoformat()),
                        user=world.users["staff"], channel=Channel.API, now=paris_noon)
    staff = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(world.users['staff'], name='bench')[1]}"}
    customer = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(world.users['customer_a'], name='bench')[1]}"}

    assert floors.get("/trivial/api/").status_code == 401
    assert floors.get("/trivial/api/", HTTP_AUTHORIZATION="Bearer esc_wrong").status_code == 401
    assert floors.get("/trivial/api/", **staff).json() == {"ok": True}
    assert floors.get("/trivial/api/incidents/REQ-1002", **staff).json() == {"request_number": "REQ-1002"}
    assert floors.get("/trivial/api/incidents/REQ-1002", **customer).status_code == 404
    assert floors.get("/trivial/api/incidents", **staff).json() == {"count": 2, "request_numbers": ["REQ-1002", "REQ-1001"]}
    assert floors.get("/trivial/api/incidents", **customer).json() == {"count": 1, "request_numbers": ["REQ-1001"]}
