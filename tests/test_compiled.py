"""`escalade.compiled`: a queryset's SQL written once per process, each call with its own values.
Customer A (managed by partner P) has REQ-1001, customer B has REQ-2001 (a high-priority incident
opened at noon, Paris)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models.functions import Upper
from django.db.models.sql.compiler import SQLCompiler

from escalade import compiled
from escalade.accounts.models import ApiToken, _live_token, hash_token
from escalade.errors import ServiceError
from escalade.incidents.models import Channel, Customer, Incident, Status
from escalade.incidents.services import IncidentInput, _numbered, get_visible_incident, upsert_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def incidents(world, paris_noon):
    staff = world.users["staff"]
    for number, customer in (("REQ-1001", "client-a"), ("REQ-2001", "client-b")):
        upsert_incident(IncidentInput(request_number=number, customer=customer, priority="high", opened_at=paris_noon),
                        user=staff, channel=Channel.API, now=paris_noon)


def _by_number(number):
    return Incident.objects.filter(request_number=number)


def test_each_call_binds_its_own_values_to_the_sql_written_once(incidents, monkeypatch):
    compiles = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiles.append(1) or original(self, *a, **k))
    shape = ("test", "by number")  # a shape of this test's own: nothing compiled it before
    [first] = compiled.fetch(shape, _by_number, "REQ-1001")
    [second] = compiled.fetch(shape, _by_number, "REQ-2001")
    assert compiled.fetch(shape, _by_number, "REQ-9999") == []
    assert len(compiles) == 1  # the two later calls ran the SQL of the first
    assert (first.request_number, second.request_number) == ("REQ-1001", "REQ-2001")
    assert second.customer.code == "client-b"


@pytest.mark.parametrize(("first", "then"), [("customer_b", "customer_a"), ("partner_a", "partner_none")])
def test_a_scope_compiled_for_one_account_never_opens_its_incidents_to_another(incidents, world, first, then):
    """The scope's id is bound like the number: a customer (or partner) asking after another one
    sees its own incidents only, with the same SQL."""
    visible = {"customer_a": "REQ-1001", "customer_b": "REQ-2001", "partner_a": "REQ-1001"}
    assert get_visible_incident(world.users[first], visible[first]).request_number == visible[first]
    with pytest.raises(ServiceError) as hidden:
        get_visible_incident(world.users[then], visible[first])
    assert hidden.value.code == "incident_not_found"
    if then in visible:
        assert get_visible_incident(world.users[then], visible[then]).request_number == visible[then]
    # Staff sees both; an account without a scope sees nothing.
    assert get_visible_incident(world.users["staff"], "REQ-2001").customer.code == "client-b"


def test_a_token_revoked_after_its_sql_was_compiled_is_refused(world, paris_noon):
    token, raw = ApiToken.issue(world.users["customer_a"], name="intégration")
    assert ApiToken.find(raw, failures_key="compiled-test").failures is None
    token.revoked_at = paris_noon
    token.save()
    assert ApiToken.find(raw, failures_key="compiled-test") is None
    assert ApiToken.find(raw) is None


def test_a_value_that_would_not_reach_the_sql_as_it_is_is_refused(incidents):
    with pytest.raises(TypeError, match="once, as a parameter"):
        compiled.fetch(("test", "prefix"), lambda number: Incident.objects.filter(request_number__startswith=number),
                       "REQ-")
    with pytest.raises(TypeError, match="shape"):
        compiled.fetch(("test", "flag"), lambda gtr: Incident.objects.filter(gtr=gtr), True)


def _newest_first(customer_code):
    return Incident.objects.filter(customer__code=customer_code).order_by("-opened_at", "-id")


def test_every_page_of_a_window_is_the_slice_of_the_same_sql(world, paris_noon, monkeypatch):
    staff = world.users["staff"]
    for hour in range(7):
        upsert_incident(IncidentInput(request_number=f"REQ-30{hour:02d}", customer="client-a", priority="low",
                                      opened_at=paris_noon - timedelta(hours=hour)),
                        user=staff, channel=Channel.API, now=paris_noon)
    compiles = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiles.append(1) or original(self, *a, **k))
    shape = ("test", "window")
    reference = [i.request_number for i in _newest_first("client-a")]
    for offset in range(9):
        for limit in (1, 3, 50):
            page = compiled.fetch(shape, _newest_first, "client-a", window=(offset, limit))
            assert [i.request_number for i in page] == reference[offset : offset + limit]
    assert compiled.fetch(shape, _newest_first, "client-b", window=(0, 50)) == []
    assert len(compiles) == 2  # the reference's, then one SQL for all 27 pages
    # The page's SQL serves the whole list too, unsliced: another shape of its own.
    assert [i.request_number for i in compiled.fetch(shape, _newest_first, "client-a")] == reference


def test_the_statement_of_a_shape_counts_the_same_rows(incidents):
    from escalade.bulk import count_rows

    counted = lambda number: Incident.objects.filter(request_number=number).values("pk")  # noqa: E731
    assert count_rows(*compiled.statement(("test", "count"), counted, "REQ-1001")) == (1, True)
    assert count_rows(*compiled.statement(("test", "count"), counted, "REQ-9999")) == (0, True)


def test_a_window_pages_an_ordered_queryset_and_binds_plain_values(incidents):
    with pytest.raises(TypeError, match="ordered"):
        compiled.fetch(("test", "unordered"), lambda n: Incident.objects.filter(request_number=n).order_by(),
                       "REQ-1001", window=(0, 10))
    with pytest.raises(TypeError, match="ordered"):
        compiled.fetch(("test", "sliced"), lambda n: Incident.objects.filter(request_number=n)[:5],
                       "REQ-1001", window=(0, 10))
    with pytest.raises(TypeError, match="window"):
        compiled.fetch(("test", "by number"), _by_number, "REQ-1001", window=(0, 0))
    # A text enum is a str whose database adapter may write its name: the caller binds its value.
    with pytest.raises(TypeError, match="Status"):
        compiled.fetch(("test", "status"), lambda status: Incident.objects.filter(status=status), Status.OPEN)



def _snapshot(obj, seen=()):
    """Everything a model object read from the database holds: its values (deferred ones absent),
    its state, and the related objects cached on it, recursively (a parent cached on its child, as
    a one-to-one leaves it, by name only)."""
    if obj is None:
        return None
    if any(obj is other for other in seen):
        return ("parent", type(obj))
    values = {k: v for k, v in vars(obj).items() if k != "_state"}
    cached = {name: _snapshot(related, (*seen, obj)) for name, related in obj._state.fields_cache.items()}
    return type(obj), values, obj._state.adding, obj._state.db, cached


def _detail(number):
    return _numbered(None, False)(number)  # the incident, its customer, partner and contract, has_pauses


def _listed(code):
    return Incident.objects.within((None, 0)).defer("allowed_level", "triage", "evaluated_at").filter(
        customer__code=code)


def _token(key_hash):
    return _live_token(key_hash, "no such counter")  # its user, and an annotation read by a subquery


def _customers(code):
    return Customer.objects.select_related("partner", "contract").exclude(code=code).order_by("code")


@pytest.mark.parametrize(("build", "value"), [
    (_detail, lambda raw: "REQ-1001"),
    (_listed, lambda raw: "client-a"),
    (_token, hash_token),
    (_customers, lambda raw: "client-b"),
], ids=["detail", "list", "token", "customers"])
def test_objects_read_from_the_compiled_sql_are_those_django_reads(build, value, incidents, world):
    """The reader builds the objects without Django's iterable: same values (converted as Django
    converts them, deferred columns absent), same state, same related objects, same annotations."""
    Customer.objects.create(code="client-c", name="Client C")  # neither partner nor contract: both None
    _, raw = ApiToken.issue(world.users["partner_a"], name="lecture")
    reference = list(build(value(raw)))
    read = compiled.fetch(("test", "same objects", build.__name__), build, value(raw))
    assert reference and [_snapshot(o) for o in read] == [_snapshot(o) for o in reference]
    if build is _customers:
        assert [c.code for c in read] == ["client-a", "client-c"]
        assert read[1]._state.fields_cache == {"partner": None, "contract": None}


def test_a_queryset_the_reader_does_not_build_is_read_by_django(incidents):
    """Prefetches (and rows that are not objects) go through Django's own iterable, compiled all the same."""
    [incident] = compiled.fetch(("test", "prefetch"),
                                lambda n: Incident.objects.prefetch_related("pauses").filter(request_number=n),
                                "REQ-1001")
    assert "pauses" in incident._prefetched_objects_cache
    assert compiled.fetch(("test", "values"), lambda n: Incident.objects.filter(request_number=n).values_list(
        "customer__code"), "REQ-2001") == [("client-b",)]


def test_rows_of_a_values_list_are_the_tuples_django_reads(incidents):
    """Converted as Django converts them (an instant, a JSON list), in the order asked for."""
    build = lambda n: Incident.objects.filter(request_number=n).values_list(  # noqa: E731
        "opened_at", "reopenings", "customer__code", "priority")
    assert compiled.fetch(("test", "tuples"), build, "REQ-2001") == list(build("REQ-2001"))
    [(opened_at, reopenings, code, priority)] = compiled.fetch(("test", "tuples"), build, "REQ-2001")
    assert (opened_at.tzinfo is not None, reopenings, code, priority) == (True, [], "client-b", "high")
    # An annotation asked before a field: in that order too.
    reordered = lambda n: Incident.objects.filter(request_number=n).annotate(  # noqa: E731
        up=Upper("title")).values_list("up", "request_number")
    assert compiled.fetch(("test", "reordered"), reordered, "REQ-2001") == list(reordered("REQ-2001")) == [
        ("", "REQ-2001")]


def test_an_instant_is_bound_as_django_binds_it_and_a_naive_one_is_refused(incidents, paris_noon):
    """REQ-1001 and REQ-2001 were opened at noon (Paris): a bound instant selects as Django's
    own filter does, on either side of it, in any zone."""
    opened_since = lambda at: Incident.objects.filter(opened_at__gte=at).order_by("request_number")  # noqa: E731
    for at in (paris_noon - timedelta(seconds=1), paris_noon, paris_noon + timedelta(microseconds=1),
               paris_noon.astimezone(ZoneInfo("America/Cayenne"))):
        assert [i.request_number for i in compiled.fetch(("test", "since"), opened_since, at)] == [
            i.request_number for i in opened_since(at)]
    assert len(compiled.fetch(("test", "since"), opened_since, paris_noon)) == 2
    assert compiled.fetch(("test", "since"), opened_since, paris_noon + timedelta(microseconds=1)) == []
    with pytest.raises(TypeError, match="naive"):
        compiled.fetch(("test", "since"), opened_since, paris_noon.replace(tzinfo=None))
    with pytest.raises(TypeError, match="once, as a parameter"):  # a date of the instant is not the instant
        compiled.fetch(("test", "day"), lambda at: Incident.objects.filter(opened_at__date=at), paris_noon)


def test_a_small_integer_is_bound_in_the_type_the_backend_gives_it(incidents):
    """PostgreSQL's backend wraps a small integer column's value (Int2), and Django writes no SQL for
    a value out of a column's range: the stand-in is within every range, found in its wrapper, and
    each call's value is wrapped the same way."""
    at_level = lambda level: Incident.objects.filter(escalated_level=level).order_by("request_number")  # noqa: E731
    Incident.objects.filter(request_number="REQ-2001").update(escalated_level=2)
    for level, expected in ((0, ["REQ-1001"]), (2, ["REQ-2001"]), (3, [])):
        assert [i.request_number for i in compiled.fetch(("test", "level"), at_level, level)] == expected
