"""Cheap construction of the core's frozen, slotted dataclasses on hot paths.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`, which costs
about a microsecond per instance of a few fields; `escalade evaluate` builds several per incident.
`fast_constructor(cls)` returns a positional function that builds the very same instance by setting
the slots directly. It is only for classes whose `__init__` does nothing else (no `__post_init__`,
every field set from an argument), which it checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


def fast_constructor[T](cls: type[T]) -> Callable[..., T]:
    """`cls(*values)` (every field, in order, positionally), without the per-field `__setattr__`."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} must be a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: use its constructor")
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__} has fields its constructor does not set")
    names = [f.name for f in fields]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def build({', '.join(names)}):", "    obj = _new(_cls)"]
    for i, name in enumerate(names):
        namespace[f"_set{i}"] = cls.__dict__[name].__set__
        lines.append(f"    _set{i}(obj, {name})")
    lines.append("    return obj")
    exec("\n".join(lines), namespace)  # generated from the class's own field names
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    return build
