"""The benchmarks are scripts outside the suite: what they import from Escalade must still exist
(bench_burst.py imported a function removed with the policy versions, and nothing noticed)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

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
