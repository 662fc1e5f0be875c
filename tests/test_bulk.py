"""`escalade.bulk.insert`: COPY on PostgreSQL, executemany on SQLite, and the objects come back as
`bulk_create` leaves them. 150 timeline entries of incident REQ-1001 (customer A), opened at noon
Paris, so that the large path (≥ SMALL rows) is the one taken."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalade import bulk
from escalade.incidents.models import Channel, Incident, TimelineEvent

pytestmark = pytest.mark.django_db


def new_incident(world, number: str, opened) -> Incident:
    return Incident(request_number=number, customer=world.customer_a, priority="high", track="support",
                    opened_at=opened, created_at=opened)


def test_many_rows_get_their_ids_and_read_back_with_the_same_values(world, paris_noon):
    incident = new_incident(world, "REQ-1001", paris_noon)
    incident.save()
    events = [TimelineEvent(incident=incident, kind="note", occurred_at=paris_noon + timedelta(minutes=i),
                            recorded_at=paris_noon, actor_label="Support", channel=Channel.API,
                            data={"note": f"appel n°{i}", "minutes": i}, previous_hash=f"{i:064x}",
                            hash=f"{i + 1:064x}")
              for i in range(bulk.SMALL + 50)]
    bulk.insert(TimelineEvent, events)

    assert all(e.pk for e in events) and len({e.pk for e in events}) == len(events)
    stored = {e.pk: e for e in TimelineEvent.objects.filter(incident=incident)}
    assert len(stored) == len(events)
    for event in events:
        row = stored[event.pk]
        assert (row.occurred_at, row.data, row.hash) == (event.occurred_at, event.data, event.hash)
    assert not events[0]._state.adding


def test_a_relation_to_an_object_saved_after_the_row_was_built_is_written(world, paris_noon):
    incidents = [new_incident(world, f"REQ-{1001 + i}", paris_noon) for i in range(bulk.SMALL)]
    events = [TimelineEvent(incident=i, kind="opened", occurred_at=paris_noon, recorded_at=paris_noon)
              for i in incidents]  # as the import builds them: before the incidents have ids
    bulk.insert(Incident, incidents)
    bulk.insert(TimelineEvent, events)

    opened = dict(TimelineEvent.objects.values_list("incident__request_number", "incident_id"))
    assert opened == {i.request_number: i.pk for i in incidents}
    assert Incident.objects.get(request_number="REQ-1050").updated_at is not None  # auto_now filled


def test_ids_given_after_a_bulk_insert_do_not_collide(world, paris_noon):
    bulk.insert(Incident, [new_incident(world, f"REQ-{1001 + i}", paris_noon) for i in range(bulk.SMALL)])
    later = new_incident(world, "REQ-2001", paris_noon)
    later.save()  # the database's own numbering continues after the reserved ids
    assert later.pk == Incident.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert Incident.objects.count() == bulk.SMALL + 1
