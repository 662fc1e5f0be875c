"""The layers are kept by import-linter (`make lint`); this pins what it cannot see."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "escalade"


def _imports_inside_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("escalade"):
                found.append(f"{path.relative_to(ROOT.parent)}:{inner.lineno} {inner.module}")
            elif isinstance(inner, ast.Import):
                found += [f"{path.relative_to(ROOT.parent)}:{inner.lineno} {a.name}"
                          for a in inner.names if a.name.startswith("escalade")]
    return found


def test_no_escalade_import_is_hidden_inside_a_function() -> None:
    """An import inside a function usually dodges a cycle the layers forbid; there is none."""
    hidden = [hit for path in sorted(ROOT.rglob("*.py")) if "migrations" not in path.parts
              for hit in _imports_inside_functions(path)]
    assert hidden == []


def test_every_escalade_setting_is_read_in_settings_only() -> None:
    """healthchecks' rule: the environment is read in one place."""
    reading = re.compile(r"""(environ|getenv)\b[^\n]*["']ESCALADE_""")
    readers = sorted(
        str(path.relative_to(ROOT.parent)) for path in ROOT.rglob("*.py")
        if path.name != "settings.py" and reading.search(path.read_text(encoding="utf-8"))
    )
    assert readers == []


@pytest.mark.parametrize("doc", ["rules.md", "security.md"])
def test_every_test_and_file_named_in_the_docs_exists(doc: str) -> None:
    """docs/rules.md maps each sentence of the procedure to its code and test, docs/security.md each
    threat to its test: no name may rot."""
    text = (ROOT.parent / "docs" / doc).read_text(encoding="utf-8")
    missing = []
    for row in text.splitlines():
        current = None
        for match in re.finditer(r"`(tests/[\w/]+\.py)::(\w+)`|`::(\w+)`", row):
            path, name, again = match.groups()
            if path:
                current = ROOT.parent / path
            if current is None:
                continue
            if not re.search(rf"^def {name or again}\b", current.read_text(encoding="utf-8"), re.M):
                missing.append(f"{current.relative_to(ROOT.parent)}::{name or again}")
    assert missing == []
    for path in set(re.findall(r"`((?:core|incidents|escalations|notifications|accounts|web|api)/[\w/]+\.py)`", text)):
        assert (ROOT / path).exists(), path
