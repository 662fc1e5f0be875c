"""Many rows at load speed: objects built without Django's per-field `__init__` (`new`), inserts by
PostgreSQL's COPY (one executemany on SQLite), inserts that skip what a unique constraint refuses
and count the rest (`insert_new`), updates by one parameterised UPDATE run with executemany, and
counts that do not read a million rows (`count_of`).

Django's `bulk_create` compiles every value of every row through the query compiler; a large import
spent 60% of its time there. Here each column's conversion is chosen once per batch and the rows go
to the database as plain tuples. `insert` gives the caller's objects their primary keys, as
`bulk_create` does (`insert_new` does not).
No signal is sent and no `save()` runs: callers set every value themselves (`auto_now` fields are
filled, defaults were set when the objects were built).
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from psycopg.types.json import Jsonb

EXACT_UP_TO = 10_000  # counts above this are PostgreSQL's planner estimate
# An estimate is reused for this many seconds by the process that made it (`count_rows`): at a
# million incidents, its bounded count and its EXPLAIN were two of an API list page's five queries
# and most of its database time. It stays an estimate (`count_exact: false`) while reused.
ESTIMATE_KEPT_FOR = 10.0
ESTIMATES_KEPT = 512  # distinct counts (scopes and filters) kept at most; all dropped beyond
_estimates: dict[tuple[Any, ...], tuple[float, int]] = {}
SMALL = 100  # below this, one more query to reserve the ids costs more than the compiler saves


@dataclass(frozen=True)
class _Recipe:
    constants: dict[str, Any]  # attname → default
    factories: tuple[tuple[str, str, Callable[[], Any]], ...]  # (name, attname, callable default)
    plain: dict[str, str]  # a field's name, or a relation's attname → attname
    relations: dict[str, str]  # a relation's name → its attname


@cache
def _recipe(model: type[models.Model]) -> _Recipe:
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        raise TypeError(f"{model.__name__} has init signal receivers: build it with {model.__name__}(...)")
    constants: dict[str, Any] = {}
    factories = []
    plain, relations = {}, {}
    for field in model._meta.concrete_fields:
        if field.generated:  # the database's to compute, as Model() leaves it
            continue
        if field.is_relation and field.one_to_one:
            raise TypeError(f"{model.__name__}.{field.name}: one-to-one relations are not handled here")
        if field.is_relation:
            relations[field.name] = plain[field.attname] = field.attname
        else:
            plain[field.name] = field.attname
        if field.has_default() and callable(field.default):
            factories.append((field.name, field.attname, field.default))
        elif isinstance(value := field.get_default(), dict | list | set):  # shared mutable: a copy each
            factories.append((field.name, field.attname, lambda value=value: type(value)(value)))
        else:
            constants[field.attname] = value
    return _Recipe(constants, tuple(factories), plain, relations)


@contextmanager
def loading() -> Iterator[Callable[[], None]]:
    """For a load that holds many objects at once (an import's checked rows): Python's cycle collector
    traversed every live object again at each full collection, a third of a 100,000-row import's CPU.
    Inside, what existed at the start is frozen (left out of every traversal) and the collector runs
    only when the caller calls the function yielded, between batches: that call traverses only what
    was made since the previous one. All restored on exit. The collector is the process's: for a
    command's load, not inside a request."""
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield partial(gc.collect, 1)  # generations 0 and 1; survivors go to the oldest one
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def new[M: models.Model](model: type[M], **values: Any) -> M:
    """`model(**values)` for load paths: the same object (values, defaults, related objects cached)
    at a fraction of the cost. Django's `__init__` resolves each field through descriptors and sends
    two signals (this refuses a model that has receivers): 30 % of a generated million's time."""
    recipe = _recipe(model)
    obj = model.__new__(model)
    state = obj._state = ModelState()
    attrs = obj.__dict__
    attrs.update(recipe.constants)
    for name, attname, factory in recipe.factories:
        if name not in values:
            attrs[attname] = factory()
    for key, value in values.items():
        attname = recipe.plain.get(key)
        if attname is None:
            attname = recipe.relations.get(key)
            if attname is None:
                raise TypeError(f"{model.__name__}() got an unexpected keyword argument {key!r}")
            state.fields_cache[key] = value
            value = None if value is None else value.pk
        attrs[attname] = value
    return obj


def _converter(field: models.Field[Any, Any], binary: bool = False) -> Callable[[Any], Any] | None:
    """How a column's Python value reaches the database, or None when it goes as it is. `binary`:
    for PostgreSQL's binary COPY, whose typed dumpers (psycopg's C ones) take instants as they are."""
    if isinstance(field, models.JSONField):
        dumps = partial(json.dumps, cls=field.encoder)
        if binary:
            return lambda value: None if value is None else Jsonb(value, dumps)
        return lambda value: None if value is None else dumps(value)
    if isinstance(field, models.DateTimeField):
        # A naive datetime is refused everywhere (as text, PostgreSQL would read it in the session's
        # zone, silently; the binary dumper refuses it itself, see `_copy`).
        if binary:
            return None
        return _sqlite_instant if connection.vendor == "sqlite" else _postgres_instant
    if isinstance(field, models.DateField) and connection.vendor == "sqlite":
        return connection.ops.adapt_datefield_value
    return None


def _naive(value: datetime) -> ValueError:
    return ValueError(f"naive datetime {value!r}: instants are stored in UTC")


def _postgres_instant(value: datetime | None) -> str | None:
    """The instant as PostgreSQL reads it as text (ISO 8601 with its offset): `insert_new`'s rows."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise _naive(value)
    return value.isoformat()


def _sqlite_instant(value: datetime | None) -> str | None:
    """Django's SQLite form of an aware instant (UTC, naive, space-separated), without its checks."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise _naive(value)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert `objects` (all new, of `model`) in one statement per backend, setting their `pk`."""
    if not objects:
        return
    pk, fields = _columns(model)
    if len(objects) < SMALL:
        # One INSERT … RETURNING the ids, in the rows' order (as Django's bulk_create relies on),
        # written here: Django's compiler took 0.15-0.2 ms a statement, and a granted escalation
        # writes three this way (the escalation, its history entry, its timeline entry).
        given = [getattr(obj, pk.attname) for obj in objects]
        chosen = None not in given  # keys chosen by the caller (a task's UUID): nothing to return
        written = [pk, *fields] if chosen else fields
        returnable = (all(key is None for key in given)  # not some keys chosen and some not
                      and connection.features.can_return_rows_from_bulk_insert)  # SQLite before 3.35 cannot
        if ((connection.features.max_query_params is not None  # SQLite's parameters (none on PostgreSQL)
                and connection.ops.bulk_batch_size(written, objects) < len(objects))
                or not (chosen or returnable)):
            model._default_manager.bulk_create(objects)
            return
        if chosen:
            keys = [pk.get_db_prep_save(key, connection) for key in given]  # a UUID is text on SQLite
            rows = [[key, *row] for key, row in zip(keys, _rows(objects, model, None), strict=True)]
            with connection.cursor() as cursor:
                cursor.execute(*_insert_statement(connection.vendor, model, rows, keyed=True))
        else:
            for obj, key in zip(objects, _insert_returning(model, objects), strict=True):
                setattr(obj, pk.attname, key)
    else:
        # No savepoint of its own (nor in `insert_new`): inside a caller's transaction a failure is
        # the caller's to roll back, with its own savepoint if it goes on; each one here cost two
        # round trips.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            ids = _reserve_ids(cursor, model._meta.db_table, pk.column, len(objects))
            if connection.vendor == "postgresql":
                _copy(cursor, model, _rows(objects, model, ids, binary=True))
            else:
                cursor.executemany(_insert_sql(connection.vendor, model, 1, keyed=True), _rows(objects, model, ids))
    _mark_saved(objects)


def _mark_saved(objects: Sequence[models.Model]) -> None:
    """As Django leaves an object it inserted: saved, in this database."""
    alias = connection.alias  # through the connection proxy: once, not per object (an import's 100,000)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias


def create[M: models.Model](model: type[M], **values: Any) -> M:
    """`model.objects.create(**values)` without Django's compiler nor signals (none are used here):
    the object built by `new` and written by `insert`."""
    obj = new(model, **values)
    insert(model, [obj])
    return obj


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _into(model: type[models.Model], columns: Sequence[models.Field[Any, Any]]) -> str:
    """`table (column, …)`, quoted: where an INSERT or a COPY writes."""
    return f"{_quote(model._meta.db_table)} ({', '.join(_quote(f.column) for f in columns)})"


def _insert_statement(vendor: str, model: type[models.Model], rows: list[list[Any]], *, keyed: bool = False,
                      unless_conflict: bool = False, returning: bool = False) -> tuple[str, list[Any]]:
    """The INSERT of `rows` (values as `_rows` gives them, the key first if `keyed`) and its
    parameters: one list per column when `_as_arrays`, else every row's values in turn."""
    if _as_arrays(vendor, len(rows), len(rows[0])):
        return (_insert_sql(vendor, model, 0, keyed=keyed, unless_conflict=unless_conflict, returning=returning),
                [list(column) for column in zip(*rows, strict=True)])
    return (_insert_sql(vendor, model, len(rows), keyed=keyed, unless_conflict=unless_conflict, returning=returning),
            [value for row in rows for value in row])


# psycopg keeps its conversion of a statement's text (`%s` to `$n`) for statements of at most this
# many parameters (`psycopg._queries.MAX_CACHED_STATEMENT_PARAMS`), and converts a longer one again
# at each execution, in Python.
PARAMETERS_KEPT = 50


def _as_arrays(vendor: str, rows: int, width: int) -> bool:
    """Whether rows too many for one kept VALUES list go, on PostgreSQL, as one array per column
    (`INSERT … SELECT * FROM UNNEST(…)`, as Django's own bulk_create does): the same text whatever
    their number, converted once by psycopg and prepared once by PostgreSQL. A grant's outbox rows
    (four and more, 15 columns each) were converted again at each grant, and planned again for each
    number of rows (6 rows: 420 µs of CPU, 325 µs as arrays). Below, the VALUES list is kept and
    prepared as it is, and costs less than the arrays' conversion (3 rows: 170 µs against 340)."""
    return vendor == "postgresql" and rows * width > PARAMETERS_KEPT


@cache
def _insert_sql(vendor: str, model: type[models.Model], rows: int, *, keyed: bool = False,
                unless_conflict: bool = False, returning: bool = False) -> str:
    """INSERT INTO the model's table (its `_columns`, with the key first if `keyed`) VALUES `rows`
    rows of parameters, or (`rows` 0) one array of parameters per column, [ON CONFLICT DO NOTHING]
    [RETURNING the key]. Written once per shape and kind of database (`vendor`, for the quoting):
    written for each statement, it was about a tenth of a small insert's cost in the web process,
    and a grant makes five."""
    pk, fields = _columns(model)
    written = [pk, *fields] if keyed else fields
    if not rows:
        # Instants go as text with their offset and JSON as text (`_rows`), cast by PostgreSQL as a
        # VALUES list's would be; the length modifier dropped from the cast truncates nothing.
        source = "SELECT * FROM UNNEST(" + ", ".join(f"(%s)::{_pg_type(f)}[]" for f in written) + ")"
    else:
        marks = "(" + ", ".join(["%s"] * len(written)) + ")"
        source = "VALUES " + ", ".join([marks] * rows)
    return (f"INSERT INTO {_into(model, written)} "
            + source
            + (" ON CONFLICT DO NOTHING" if unless_conflict else "")
            + (f" RETURNING {_quote(pk.column)}" if returning else ""))


def insert_new(model: type[models.Model], objects: Sequence[models.Model]) -> int:
    """Insert those of `objects` that no unique constraint refuses (INSERT … ON CONFLICT DO NOTHING:
    one statement of arrays on PostgreSQL for many rows, `_as_arrays`, else executemany: 200 outbox
    rows 6.4 → 5.0 ms of CPU, 14 → 10 ms in all); returns how many were inserted (their `pk` is not
    set). `bulk_create(ignore_conflicts=True)` needs a count before and after to tell: two more reads
    of the unique index, or of the whole table while its statistics lag behind a burst of inserts (32 %
    of a worker's time in a mass outage, under cProfile)."""
    if not objects:
        return 0
    vendor, rows = connection.vendor, _rows(objects, model, None)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if _as_arrays(vendor, len(rows), len(rows[0])):
            cursor.execute(*_insert_statement(vendor, model, rows, unless_conflict=True))
        else:
            cursor.executemany(_insert_sql(vendor, model, 1, unless_conflict=True), rows)
        return int(cursor.rowcount)  # the sum over the rows, on both backends


def insert_new_returning(model: type[models.Model], objects: Sequence[models.Model]) -> list[int]:
    """`insert_new` for a few rows, in one statement that returns the ids of those it inserted (in no
    particular order; not set on the objects): the rows a request writes and must hand on."""
    if not objects:
        return []
    with transaction.atomic(savepoint=False):
        return _insert_returning(model, objects, unless_conflict=True)


def insert_one_unless_conflict(obj: models.Model) -> bool:
    """Insert `obj` (new) unless a unique constraint refuses it, in one statement; whether it was
    inserted (its `pk` then set). A refused row aborts nothing: the caller can mend it and insert."""
    ids = insert_new_returning(type(obj), [obj])
    if not ids:
        return False
    setattr(obj, obj._meta.pk.attname, ids[0])
    _mark_saved([obj])
    return True


def _insert_returning(model: type[models.Model], objects: Sequence[models.Model],
                      unless_conflict: bool = False) -> list[int]:
    """One INSERT of `objects` (without their key) RETURNING the ids of the rows written."""
    rows = _rows(objects, model, None)
    with connection.cursor() as cursor:
        cursor.execute(*_insert_statement(connection.vendor, model, rows, unless_conflict=unless_conflict,
                                          returning=True))
        return [int(row[0]) for row in cursor.fetchall()]


def _copy(cursor: Any, model: type[models.Model], rows: list[list[Any]]) -> None:
    """COPY in binary (the key first, as `_rows` gives it with ids): each value dumped by psycopg's
    typed (C) dumper, no text to build or parse. Formatting instants as text for a text COPY took 6 %
    of the generator's time (py-spy)."""
    sql, types = _copy_statement(model)
    with cursor.cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            try:
                copy.write_row(row)
            except TypeError:
                naive = [v for v in row if isinstance(v, datetime) and v.tzinfo is None]
                if naive:
                    raise _naive(naive[0]) from None
                raise


@cache
def _copy_statement(model: type[models.Model]) -> tuple[str, tuple[str, ...]]:
    """The COPY of the model's columns (the key first) and their types, once per model (PostgreSQL
    only), as `_insert_sql` keeps the INSERTs."""
    pk, fields = _columns(model)
    columns = [pk, *fields]
    sql = f"COPY {_into(model, columns)} FROM STDIN (FORMAT BINARY)"
    return sql, tuple(_pg_type(f) for f in columns)


def _pg_type(field: models.Field[Any, Any]) -> str:
    """The column's type as psycopg names it ("varchar(200)" → "varchar"; a relation: its target's)."""
    db_type = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
    assert db_type is not None, field
    return db_type.split("(", 1)[0].strip()


@cache
def _columns(model: type[models.Model]) -> tuple[models.Field[Any, Any], tuple[models.Field[Any, Any], ...]]:
    """The primary key, and the columns a row gives (not the key, not a generated column)."""
    meta = model._meta
    pk = meta.pk
    assert pk is not None and not meta.parents, "a model of its own table (no multi-table inheritance)"
    return pk, tuple(f for f in meta.concrete_fields if f is not pk and not f.generated)


@dataclass(frozen=True)
class _RowPlan:
    """How `_rows` reads a model's objects, worked out once per model and database kind."""

    stamped: tuple[models.Field[Any, Any], ...]  # auto_now(_add): set on the object as it is written
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position in the row, conversion)
    linked: tuple[tuple[str, str], ...]  # a relation's (attname, name)
    attnames: tuple[str, ...]  # the row's values, in order


@cache
def _row_plan(vendor: str, model: type[models.Model], keyed: bool, binary: bool) -> _RowPlan:
    pk, fields = _columns(model)
    offset = 1 if keyed else 0
    return _RowPlan(
        stamped=tuple(f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)),
        converters=tuple((i + offset, c) for i, f in enumerate(fields) if (c := _converter(f, binary)) is not None),
        linked=tuple((f.attname, f.name) for f in fields if f.is_relation),
        attnames=(pk.attname, *(f.attname for f in fields)) if keyed else tuple(f.attname for f in fields),
    )


def _rows(objects: Sequence[models.Model], model: type[models.Model], ids: list[int] | None,
          binary: bool = False) -> list[list[Any]]:
    """Each object's values as the database takes them (`binary`: as a binary COPY does): with its
    new id first if `ids` are given (and set on the object), else without the key."""
    plan = _row_plan(connection.vendor, model, ids is not None, binary)
    stamped, converters, linked, attnames = plan.stamped, plan.converters, plan.linked, plan.attnames
    pk_attname = model._meta.pk.attname
    # Read straight from each object's __dict__ and its related-object cache (a relation's cache
    # key is its name): 3 million rows of a generated million go through this loop. A relation may
    # be given as an object saved after this one was built (an import's new incident).
    rows: list[list[Any]] = []
    for index, obj in enumerate(objects):
        values = obj.__dict__
        for field in stamped:
            field.pre_save(obj, True)
        for attname, name in linked:
            if values[attname] is None:
                related = obj._state.fields_cache.get(name)
                if related is not None:
                    values[attname] = related.pk
        if ids is not None:
            values[pk_attname] = ids[index]
        row = [values[name] for name in attnames]
        for position, convert in converters:
            row[position] = convert(row[position])
        rows.append(row)
    return rows


def update(model: type[models.Model], objects: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write the fields `names` of `objects` (saved rows of `model`): one parameterised UPDATE run
    with executemany (execute for one). Django's `bulk_update` builds a CASE per column whose cost
    grows with the square of the batch (56 rows/s measured in an import; 16 % of a worker's time in a
    burst)."""
    if not objects:
        return
    sql, fields = _update_sql(connection.vendor, model, tuple(names))
    rows = [[f.get_db_prep_save(getattr(o, f.attname), connection) for f in fields] + [o.pk] for o in objects]
    with connection.cursor() as cursor:
        if len(rows) == 1:  # most writes are one row: psycopg's executemany pipelines, a round trip more
            cursor.execute(sql, rows[0])
        else:
            cursor.executemany(sql, rows)


@cache
def _update_sql(vendor: str, model: type[models.Model],
                names: tuple[str, ...]) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """`update`'s statement and fields, once per model, set of fields and kind of database."""
    meta = model._meta
    assert meta.pk is not None
    fields = tuple(meta.get_field(name) for name in names)
    sql = (f"UPDATE {_quote(meta.db_table)} SET "
           + ", ".join(f"{_quote(f.column)} = %s" for f in fields)  # type: ignore[union-attr]
           + f" WHERE {_quote(meta.pk.column)} = %s")
    return sql, fields  # type: ignore[return-value]


def _reserve_ids(cursor: Any, table: str, column: str, count: int) -> list[int]:
    if connection.vendor == "postgresql":
        # The sequence's name looked up once (a subquery), not once per id: pg_get_serial_sequence
        # in the select list read the catalogue for every row, 6 µs an id (a generated million
        # reserves 3.4 million).
        cursor.execute("SELECT nextval((SELECT pg_get_serial_sequence(%s, %s))::regclass) "
                       "FROM generate_series(1, %s)", [table, column, count])
        return [row[0] for row in cursor.fetchall()]
    # SQLite: transactions are IMMEDIATE (settings), so nobody else inserts until this one commits.
    # AUTOINCREMENT never reuses a number: start above both the last row and the last number given.
    cursor.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                   f"COALESCE(MAX({_quote(column)}), 0)) FROM {_quote(table)}", [table])
    first = cursor.fetchone()[0] + 1
    return list(range(first, first + count))


def count_of(queryset: QuerySet[Any]) -> tuple[int, bool]:
    """(count, exact) of a queryset's rows (`count_rows`)."""
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return count_rows(sql, params)


def count_rows(sql: str, params: Sequence[Any], *, clock: Callable[[], float] = time.monotonic) -> tuple[int, bool]:
    """(count, exact) of the rows of a SELECT: exact up to EXACT_UP_TO (a count over a bounded
    subquery, on the same index as the page shown); beyond, PostgreSQL's planner estimate, never
    below the bound. An exact COUNT(*) reads every row: 60 % of an API list's first page at a
    million incidents, and what made the dashboard grow with the open incidents.

    An estimate is kept ESTIMATE_KEPT_FOR seconds (`clock`'s) for the same SQL, values and
    database, and answered again without a query: it was already approximate. An exact count is
    always counted again."""
    key = _estimate_key(sql, params)
    kept = None if key is None else _estimates.get(key)
    now = clock()
    if kept is not None and now < kept[0]:
        return kept[1], False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {EXACT_UP_TO + 1}) AS bounded", params)
        bounded = cursor.fetchone()[0]
        if bounded <= EXACT_UP_TO:
            return bounded, True
        if connection.vendor != "postgresql":
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS whole", params)  # no estimator here
            return cursor.fetchone()[0], True
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimate = max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_UP_TO + 1)
    if key is not None:
        if len(_estimates) >= ESTIMATES_KEPT:
            _estimates.clear()  # bounded, and simpler than an LRU for what is a cheap recount
        _estimates[key] = (now + ESTIMATE_KEPT_FOR, estimate)
    return estimate, False


def _estimate_key(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    key = (connection.alias, connection.settings_dict["NAME"], EXACT_UP_TO, sql, tuple(params))
    try:
        hash(key)
    except TypeError:  # a value that cannot be a key (a list): counted each time
        return None
    return key


def forget_estimates() -> None:
    """Drop every kept estimate (`count_rows`): the next count of each is made again."""
    _estimates.clear()
