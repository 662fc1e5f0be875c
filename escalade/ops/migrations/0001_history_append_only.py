"""History is append-only in the database itself, whatever writes to it (the admin, a shell, a bug).

Triggers refuse DELETE on incidents and their history, UPDATE of the columns that record what
happened, and clearing or changing a value that is set once. What may still change: the timeline's
and requests' link to an account that is deleted (SET NULL, the label stays), a request's repeat
count, an escalation's reminders, an open pause's end, an incident's current facts and cached
evaluation (each change recorded in its timeline by the services).

The definitions are frozen here (a later change is a new migration). `escalade flush`, which erases
a whole database, lifts them on SQLite for the time of the erase (ops/management/commands/flush.py);
PostgreSQL's TRUNCATE fires no row trigger.
"""

from django.db import migrations

# table: (columns that never change, columns that never change once set)
RULES = {
    "incidents_timelineevent": (
        ("id", "incident_id", "kind", "occurred_at", "recorded_at", "actor_label", "channel",
         "crossing_key", "data", "previous_hash", "hash"),
        (),
    ),
    "escalations_escalationrequest": (
        ("id", "incident_id", "escalation_id", "requested_level", "outcome", "code", "requester_label",
         "requester_role", "channel", "reason", "requested_at"),
        (),
    ),
    "escalations_escalation": (
        ("id", "incident_id", "level", "requester_label", "requester_role", "channel", "reason",
         "granted_at"),
        ("acknowledged_at", "acknowledged_label"),
    ),
    "incidents_incidentpause": (("id", "incident_id", "start"), ("end",)),
    "incidents_incident": (("id", "request_number", "customer_id", "created_at"), ("archived_at",)),
}

MESSAGE = "escalade: l''historique est en ajout seul ({table}: {op} refusé)"


def _changed(frozen, once, distinct):
    tests = [f'NEW."{c}" {distinct} OLD."{c}"' for c in frozen]
    tests += [f'(OLD."{c}" IS NOT NULL AND OLD."{c}" <> \'\' AND NEW."{c}" {distinct} OLD."{c}")'
              if c.endswith("_label") else f'(OLD."{c}" IS NOT NULL AND NEW."{c}" {distinct} OLD."{c}")'
              for c in once]
    return " OR ".join(tests)


def sqlite_statements():
    for table, (frozen, once) in RULES.items():
        yield (f'CREATE TRIGGER "escalade_{table}_no_update" BEFORE UPDATE ON "{table}" FOR EACH ROW '
               f"WHEN {_changed(frozen, once, 'IS NOT')} "
               f"BEGIN SELECT RAISE(ABORT, '{MESSAGE.format(table=table, op='UPDATE')}'); END")
        yield (f'CREATE TRIGGER "escalade_{table}_no_delete" BEFORE DELETE ON "{table}" FOR EACH ROW '
               f"BEGIN SELECT RAISE(ABORT, '{MESSAGE.format(table=table, op='DELETE')}'); END")


POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION escalade_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'escalade: l''historique est en ajout seul (%: % refusé)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$
"""


def postgres_statements():
    yield POSTGRES_FUNCTION
    for table, (frozen, once) in RULES.items():
        yield (f'CREATE TRIGGER "escalade_{table}_no_update" BEFORE UPDATE ON "{table}" FOR EACH ROW '
               f"WHEN ({_changed(frozen, once, 'IS DISTINCT FROM')}) EXECUTE FUNCTION escalade_refuse_rewrite()")
        yield (f'CREATE TRIGGER "escalade_{table}_no_delete" BEFORE DELETE ON "{table}" FOR EACH ROW '
               "EXECUTE FUNCTION escalade_refuse_rewrite()")


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": sqlite_statements, "postgresql": postgres_statements}.get(vendor)
    if statements is None:
        raise RuntimeError(f"append-only history is not defined for {vendor}")
    for statement in statements():
        schema_editor.execute(statement, params=None)  # the function's RAISE has % placeholders


def drop(apps, schema_editor):
    for table in RULES:
        for what in ("update", "delete"):
            on = f' ON "{table}"' if schema_editor.connection.vendor == "postgresql" else ""
            schema_editor.execute(f'DROP TRIGGER IF EXISTS "escalade_{table}_no_{what}"{on}')


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_archive_and_hash_chain"),
        ("escalations", "0003_request_repeats"),
    ]

    operations = [migrations.RunPython(create, drop)]
