"""Querysets whose SQL is compiled once per process: the API's hottest reads.

Django compiles a queryset to SQL on every evaluation. For the token of an API call or the incident
of a detail, that took ten times as long as running the query (1.17 ms against 0.09 ms for a token,
measured in process on PostgreSQL): most of a GET was spent writing the same SQL again.

`fetch(shape, build, *values)` builds the queryset once with stand-in values, compiles it, and
checks that each stand-in went into the query's parameters exactly once, untouched (not inlined,
not transformed but for the backend's adapter of an instant: else it refuses, TypeError). Values are
text, integers and aware instants; anything else (None, a flag, an enum) belongs to the shape.
Later calls bind the real values to the same SQL and read the rows (below). `shape` names
everything else the SQL depends on (a user's role picks a different scope filter): two calls with
the same shape must build the same query but for the values.

A page (`window`) is bound too: LIMIT and OFFSET are parameters appended to the compiled SQL (Django
would write the numbers into it), so every page of a list shares one SQL. `statement` gives the
bound SQL itself, for a count or a plan over the same rows.

The rows become objects without Django's per-row machinery too (`_Reader`): how each column is
converted, where each model's columns are and which related objects hang where is worked out once
per shape, and the objects are built as `bulk.new` builds them (no per-field `__init__`, no
signals), or a `values_list`'s tuples. Django's iterable spent more time on that than the database
on the query. A queryset that needs more (prefetches, known related objects, inherited models,
init signals, flat or named rows, dicts) is read by Django as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.query import ModelIterable, ValuesListIterable
from django.db.models.signals import post_init, pre_init
from django.db.models.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Template:
    queryset: QuerySet[Any]
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    positions: tuple[int, ...]  # where each value goes in `params`
    wrappers: tuple[type | None, ...]  # the type the backend wraps each integer in (PostgreSQL's Int2), if any
    reader: _Reader | None  # None: Django reads the rows


@dataclass(frozen=True)
class _Related:
    """A model read with its parent (`select_related`): its columns in the row, and where it goes."""

    model: type[Model]
    start: int
    end: int
    attnames: tuple[str, ...]
    pk_index: int
    local_setter: Callable[[Model, Model | None], None]
    remote_setter: Callable[[Model, Model], None]
    related: tuple[_Related, ...]


@dataclass(frozen=True)
class _Reader:
    """What `ModelIterable` works out on every evaluation, worked out once: how to turn a row into
    the same object (values in `__dict__`, deferred columns absent, `_state` from the database,
    related objects cached, annotations set). Without a model, a `values_list` row: the tuple of
    its converted columns."""

    model: type[Model] | None
    start: int
    end: int
    attnames: tuple[str, ...]
    related: tuple[_Related, ...]
    annotations: tuple[tuple[str, int], ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    width: int | None  # the row's own columns, when Django adds some for its ordering

    def read(self, rows: list[tuple[Any, ...]], db: str) -> list[Any]:
        connection = connections[db]
        objects: list[Any] = []
        for raw in rows:
            row = list(raw[:self.width] if self.width is not None else raw)
            for position, convs, expression in self.converters:
                value = row[position]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[position] = value
            if self.model is None:
                objects.append(tuple(row))
                continue
            obj = _built(self.model, self.attnames, row[self.start:self.end], db)
            for related in self.related:
                _populate(related, row, obj, db)
            for name, position in self.annotations:
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def _built(model: type[Model], attnames: tuple[str, ...], values: list[Any], db: str) -> Model:
    # As `Model.from_db` leaves it, for a model without init signals (checked with the shape).
    obj = model.__new__(model)
    state = obj._state = ModelState()
    state.adding = False
    state.db = db
    obj.__dict__.update(zip(attnames, values, strict=True))
    return obj


def _populate(related: _Related, row: list[Any], parent: Model, db: str) -> None:
    values = row[related.start:related.end]
    if values[related.pk_index] is None:  # no related row (a nullable relation)
        related.local_setter(parent, None)
        return
    obj = _built(related.model, related.attnames, values, db)
    for nested in related.related:
        _populate(nested, row, obj, db)
    related.local_setter(parent, obj)
    related.remote_setter(obj, parent)


def _plain(model: type[Model]) -> bool:
    """Whether `_built` makes the same object as `from_db`: Django's own `from_db` and no receivers
    of the init signals."""
    return (model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
            and not pre_init.has_listeners(model) and not post_init.has_listeners(model))


def _related(infos: list[dict[str, Any]], select: list[Any]) -> tuple[_Related, ...] | None:
    found = []
    for info in infos:
        fields = info["select_fields"]
        if info["from_parent"] or not _plain(info["model"]):
            return None
        nested = _related(info.get("related_klass_infos", []), select)
        if nested is None:
            return None
        attnames = tuple(select[i][0].target.attname for i in fields)
        found.append(_Related(info["model"], fields[0], fields[-1] + 1, attnames,
                              attnames.index(info["model"]._meta.pk_fields[0].attname),
                              info["local_setter"], info["remote_setter"], nested))
    return tuple(found)


def _reader(queryset: QuerySet[Any], compiler: SQLCompiler) -> _Reader | None:
    """The reader of the shape's rows, or None where Django's own iterable must read them."""
    columns = [s[0] for s in compiler.select[:compiler.col_count]]
    converters = tuple((position, tuple(convs), expression)
                       for position, (convs, expression) in compiler.get_converters(columns).items())
    width = compiler.col_count if compiler.has_extra_select else None
    if queryset._iterable_class is ValuesListIterable:
        # Its columns are selected in the order asked for (Django 5.2 and later): a row is the tuple.
        if queryset._prefetch_related_lookups or compiler.has_composite_fields(columns):  # type: ignore[attr-defined]
            return None
        return _Reader(None, 0, 0, (), (), (), converters, width)
    info = compiler.klass_info
    if (queryset._iterable_class is not ModelIterable or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            or queryset._known_related_objects or info is None  # type: ignore[attr-defined]
            or queryset._fetch_mode.track_peers or not _plain(info["model"])  # type: ignore[attr-defined]
            or compiler.has_composite_fields([s[0] for s in compiler.select])):
        return None
    related = _related(info.get("related_klass_infos", []), compiler.select)
    if related is None:
        return None
    fields = info["select_fields"]
    return _Reader(info["model"], fields[0], fields[-1] + 1,
                   tuple(compiler.select[i][0].target.attname for i in fields), related,
                   tuple(compiler.annotation_col_map.items()), converters, width)


# Two threads may both build a shape's template at first: they build the same one, either is kept.
_templates: dict[tuple[Any, Hashable, bool], _Template] = {}


_STAND_IN_INSTANT = datetime(1, 1, 2, tzinfo=UTC)


def _stand_in(value: Any, index: int) -> Any:
    """A value of the same type as the real one, so that Django prepares it alike, and unlikely among
    the query's own parameters (the template checks that it is found there exactly once)."""
    # Exactly str, int or datetime: a bool is an int, and a str subclass (an enum) may be adapted otherwise.
    if type(value) is str:
        return f"\x00escalade:{index}\x00"
    if type(value) is int:
        # Within every integer column's range (Django finds no row for a value out of it, and writes
        # no SQL): the largest small integer, unlikely among a query's own constants.
        return 32_767 - index
    if type(value) is datetime:
        if value.tzinfo is None:  # Django would read it in the current zone, with a warning
            raise TypeError("compiled binds aware instants, not naive ones")
        return _STAND_IN_INSTANT + timedelta(microseconds=index + 1)
    raise TypeError(f"compiled binds text, integers and instants, not {type(value).__name__}: put it in the shape")


def _prepared(value: Any, db: str) -> Any:
    """The value as Django's lookups hand it to the database: an instant through the backend's
    adapter (text in UTC on SQLite, itself on PostgreSQL), the rest as it is."""
    return connections[db].ops.adapt_datetimefield_value(value) if type(value) is datetime else value


def _template(shape: Hashable, build: Callable[..., QuerySet[Any]], values: Sequence[Any], windowed: bool) -> _Template:
    stand_ins = [_stand_in(v, i) for i, v in enumerate(values)]
    queryset = build(*stand_ins)
    if windowed and (queryset.query.is_sliced or queryset.query.select_for_update or not queryset.ordered):
        raise TypeError(f"{shape!r}: a window pages an ordered queryset, not sliced nor locked")
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    positions, wrappers = [], []
    for stand_in in stand_ins:
        prepared = _prepared(stand_in, queryset.db)
        found = [i for i, p in enumerate(params) if p == prepared and (
            type(p) is type(prepared) or (type(prepared) is int and isinstance(p, int) and not isinstance(p, bool)))]
        if len(found) != 1 or (isinstance(prepared, str) and prepared in sql):
            raise TypeError(f"{shape!r}: each value must reach the SQL once, as a parameter")
        positions.append(found[0])
        wrappers.append(None if type(params[found[0]]) is type(prepared) else type(params[found[0]]))
    if windowed:
        sql += " LIMIT %s OFFSET %s"
        params = (*params, 0, 0)
    return _Template(queryset, compiler, sql, tuple(params), tuple(positions), tuple(wrappers),
                     _reader(queryset, compiler))


def _bound(shape: Hashable, build: Callable[..., QuerySet[Any]], values: Sequence[Any],
           window: tuple[int, int] | None) -> tuple[_Template, str, tuple[Any, ...]]:
    for value in values:  # refused now, not only when the shape is first compiled
        _stand_in(value, 0)
    key = (build.__code__, shape, window is not None)  # a lambda is made again at each call, its code is not
    template = _templates.get(key)
    if template is None:
        template = _templates[key] = _template(shape, build, values, window is not None)
    params = list(template.params)
    db = template.queryset.db
    for position, wrap, value in zip(template.positions, template.wrappers, values, strict=True):
        params[position] = _prepared(value, db) if wrap is None else wrap(value)
    if window is not None:
        offset, limit = window
        if type(offset) is not int or type(limit) is not int or offset < 0 or limit < 1:
            raise TypeError(f"{shape!r}: a window is (offset ≥ 0, limit ≥ 1), got {window!r}")
        params[-2:] = [limit, offset]
    return template, template.sql, tuple(params)


def fetch[M: Model](shape: Hashable, build: Callable[..., QuerySet[M]], *values: Any,
                    window: tuple[int, int] | None = None) -> list[M]:
    """`list(build(*values)[offset:offset + limit])` for `window=(offset, limit)`, else the whole
    `list(build(*values))`: the SQL compiled at the first call for `shape` (see the module)."""
    template, sql, bound = _bound(shape, build, values, window)
    if template.reader is not None:
        db = template.queryset.db
        with connections[db].cursor() as cursor:
            cursor.execute(sql, bound)
            rows = cursor.fetchall()
        return template.reader.read(rows, db)
    queryset = template.queryset._chain()  # type: ignore[attr-defined]
    compiler = copy.copy(template.compiler)  # its select and converters, worked out once
    compiler.connection = connections[queryset.db]  # this thread's connection
    compiler.as_sql = lambda *args, **kwargs: (sql, bound)  # type: ignore[method-assign]
    queryset.query.get_compiler = lambda *args, **kwargs: compiler
    return list(queryset)


def statement(shape: Hashable, build: Callable[..., QuerySet[Any]], *values: Any) -> tuple[str, tuple[Any, ...]]:
    """The SQL of `build(*values)` and its parameters, compiled at the first call for `shape`: to be
    wrapped (a count, a plan) and run on `build`'s database."""
    _, sql, bound = _bound(shape, build, values, None)
    return sql, bound
