"""The incident services the API and the import share: who may write what, and one way to compute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalade.errors import ServiceError
from escalade.incidents.imports import check_rows, import_rows
from escalade.incidents.models import Channel, Incident
from escalade.incidents.services import IncidentInput, apply_event, upsert_incident

pytestmark = pytest.mark.django_db


def data(number="REQ-1042", **changes):
    facts = {"request_number": number, "customer": "client-a", "priority": "high",
             "opened_at": "2026-11-27T10:00:00+01:00", **changes}
    return IncidentInput(**facts)


def test_a_customer_may_not_grant_itself_gtr(world, paris_noon):
    user = world.users["customer_b"]
    with pytest.raises(ServiceError) as refused:
        upsert_incident(data(customer="client-b", gtr=True, request_number=None), user=user,
                        channel=Channel.API, now=paris_noon)
    assert refused.value.code == "reserved_to_staff" and refused.value.status == 403
    incident, _ = upsert_incident(data(customer="client-b", gtr=False, request_number=None), user=user,
                                  channel=Channel.API, now=paris_noon)
    assert incident.gtr is False


def test_a_partner_update_keeps_staff_facts(world, paris_noon):
    staff, partner = world.users["staff"], world.users["partner_a"]
    upsert_incident(data(gtr=False, acknowledged_at="2026-11-27T10:10:00+01:00"), user=staff,
                    channel=Channel.API, now=paris_noon)
    incident, created = upsert_incident(data(title="précision", gtr=None), user=partner, channel=Channel.API,
                                        now=paris_noon)
    assert not created
    assert incident.gtr is False  # staff's override is kept
    assert incident.acknowledged_at is not None and incident.title == "précision"


def test_import_and_upsert_compute_the_same_cache(world, paris_noon, settings):
    rows = [
        {"request_number": "REQ-1", "customer": "client-a", "priority": "high",
         "opened_at": "2026-11-27T10:00:00+01:00", "acknowledged_at": "2026-11-27T10:45:00+01:00"},
        {"request_number": "REQ-2", "customer": "client-b", "priority": "medium", "track": "production",
         "opened_at": "2026-11-26T10:00:00+01:00", "resolved_at": "2026-11-27T09:00:00+01:00"},
        {"request_number": "REQ-3", "customer": "client-a", "priority": "low",
         "opened_at": "2026-11-20T10:00:00+01:00"},
    ]
    checked = check_rows(list(enumerate(rows, start=2)), paris_noon)
    assert not checked.errors
    import_rows(checked, paris_noon)
    fields = ["status", "take_charge_due_at", "take_charge_state", "resolution_due_at", "resolution_state",
              "allowed_level", "next_change_at", "gtr", "track"]
    imported = {i["request_number"]: i for i in Incident.objects.values("request_number", *fields)}
    assert set(imported) == {"REQ-1", "REQ-2", "REQ-3"}
    timeline = {n: list(Incident.objects.get(request_number=n).timeline.values_list("kind", "occurred_at"))
                for n in imported}
    # The same rows through the one-by-one service, under other numbers (history is never deleted).
    for row in rows:
        upsert_incident(IncidentInput(**{**row, "request_number": "U" + row["request_number"]}), user=None,
                        channel=Channel.IMPORT, now=paris_noon)
    upserted = {i.pop("request_number")[1:]: i for i in Incident.objects.filter(request_number__startswith="U")
                .values("request_number", *fields)}
    for values in imported.values():
        values.pop("request_number", None)
    for n in imported:
        assert imported[n] == upserted[n], {k: (imported[n][k], upserted[n][k]) for k in fields if imported[n][k] != upserted[n][k]}
    assert timeline == {n: list(Incident.objects.get(request_number="U" + n).timeline.values_list("kind", "occurred_at"))
                        for n in upserted}
    assert imported["REQ-1"]["take_charge_state"] == "missed" and imported["REQ-1"]["allowed_level"] == 0
    assert imported["REQ-2"]["status"] == "resolved"


def test_importing_again_updates_and_keeps_pauses(world, paris_noon):
    from escalade.incidents.services import apply_event

    incident, _ = upsert_incident(data(), user=None, channel=Channel.API, now=paris_noon - timedelta(hours=1))
    apply_event(incident, "pause", user=None, channel=Channel.WEB, now=paris_noon - timedelta(minutes=30))
    row = {"request_number": "REQ-1042", "customer": "client-a", "priority": "high",
           "opened_at": "2026-11-27T10:00:00+01:00", "title": "mis à jour"}
    result = import_rows(check_rows([(2, row)], paris_noon), paris_noon)
    assert (result.created, result.updated) == (0, 1)
    incident.refresh_from_db()
    assert incident.status == "paused" and incident.resolution_state == "paused"
    assert incident.title == "mis à jour"


def test_the_list_page_is_the_scoped_filtered_slice_for_every_reader_and_filter(world, paris_noon):
    """`visible_incidents_page` (one compiled SQL per scope kind and set of filters, values bound)
    against the plain queryset, for every role, combination of filters and page."""
    from itertools import product

    from escalade.incidents.services import visible_incidents_page

    staff = world.users["staff"]
    for n, (customer, priority, track) in enumerate(product(("client-a", "client-b"), ("high", "low"),
                                                            ("support", "production"))):
        opened = paris_noon - timedelta(hours=n % 5)  # ties on the opening: the id orders them
        incident, _ = upsert_incident(
            IncidentInput(request_number=f"REQ-4{n:03d}", customer=customer, priority=priority, track=track,
                          opened_at=opened, resolved_at=opened + timedelta(hours=1) if n % 3 == 0 else None),
            user=staff, channel=Channel.API, now=paris_noon)
        if n % 3 == 1:  # paused 10 minutes and resumed, and paused again since
            for kind, minutes in (("pause", 10), ("resume", 20), ("pause", 30)):
                apply_event(incident, kind, user=staff, channel=Channel.API, now=paris_noon + timedelta(minutes=40),
                            at=paris_noon + timedelta(minutes=minutes))
    lookups = {"status": "status", "priority": "priority", "track": "track", "customer": "customer__code"}
    choices = {"status": (None, "open", "resolved"), "priority": (None, "high"), "track": (None, "production"),
               "customer": (None, "client-a", "client-b")}
    for user in world.users.values():
        for values in product(*choices.values()):
            filters = {name: value for name, value in zip(choices, values, strict=True) if value}
            reference = Incident.objects.visible_to(user).filter(
                **{lookups[name]: value for name, value in filters.items()}).order_by("-opened_at", "-id")
            numbers = [i.request_number for i in reference]
            for page in range(3):
                found, count, exact = visible_incidents_page(user, filters, page * 3, 3)
                assert (count, exact) == (len(numbers), True)
                assert [i.request_number for i in found] == numbers[page * 3 : page * 3 + 3], (user, filters, page)
                for incident in found:  # evaluated with its pauses, read with the page
                    assert list(incident.pauses.all()) == list(reference.get(pk=incident.pk).pauses.all())
                    assert incident.facts() == reference.get(pk=incident.pk).facts()
    everything = visible_incidents_page(staff, {}, 0, 50)[0]
    assert sum(len(i.pauses.all()) for i in everything) == 6  # three incidents paused twice: not vacuous


def test_a_page_past_an_estimated_count_is_still_read(world, paris_noon, monkeypatch):
    """An estimate (PostgreSQL's planner, above `bulk.EXACT_UP_TO`) may be below the rows there are:
    only an exact count says a page is past the end."""
    from escalade import bulk
    from escalade.incidents.services import visible_incidents_page

    for n in range(4):
        upsert_incident(IncidentInput(request_number=f"REQ-50{n}", customer="client-a", priority="low",
                                      opened_at=paris_noon - timedelta(hours=n)),
                        user=None, channel=Channel.API, now=paris_noon)
    staff = world.users["staff"]
    monkeypatch.setattr(bulk, "count_rows", lambda sql, params: (2, False))
    page, count, exact = visible_incidents_page(staff, {}, 2, 2)
    assert ([i.request_number for i in page], count, exact) == (["REQ-502", "REQ-503"], 2, False)
    monkeypatch.setattr(bulk, "count_rows", lambda sql, params: (2, True))
    assert visible_incidents_page(staff, {}, 2, 2)[0] == []  # exact: past the end, no query


def test_a_page_read_with_its_pauses_is_freed_without_the_cycle_collector(world, paris_noon):
    """The pauses attached by the page refer to their incident by id only: nothing read for a page is
    left in a reference cycle (the cycle collector took 15 % of an API list's CPU)."""
    import gc
    import weakref

    from escalade.incidents.services import visible_incidents_page

    staff = world.users["staff"]
    for n in range(3):
        incident, _ = upsert_incident(data(f"REQ-60{n}", opened_at=paris_noon - timedelta(hours=n + 1)),
                                      user=staff, channel=Channel.API, now=paris_noon)
        if n:
            apply_event(incident, "pause", user=staff, channel=Channel.API, now=paris_noon)
    page = visible_incidents_page(staff, {}, 0, 50)[0]
    assert [len(i.pauses.all()) for i in page] == [0, 1, 1]
    # A filter on them stays within the incident, as on the related manager's queryset.
    assert [i.pauses.filter(end__isnull=True).count() for i in page] == [0, 1, 1]
    alive = [weakref.ref(obj) for i in page for obj in (i, *i.pauses.all())]
    gc.disable()
    try:
        del page
        assert [ref() for ref in alive if ref() is not None] == []
    finally:
        gc.enable()
