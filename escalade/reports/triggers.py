"""The triggers that count changes to the incidents a report reads, per UTC day they were opened.

Installed by the migration and again after every `migrate` (`apps.ready`): SQLite drops a table's
triggers when Django rebuilds the table for a later migration, and a lost trigger would leave sealed
months stale without a word. Both functions are idempotent.
"""

from __future__ import annotations

from typing import Any

# What the report reads of an incident: a change to one of these moves the counter of the UTC day the
# incident was opened (before and after the change), and so stales a sealed month holding that day.
READ = ("opened_at", "customer_id", "priority", "acknowledged_at", "resolved_at", "take_charge_due_at",
        "resolution_due_at")
DAY_PG = "(({}) AT TIME ZONE 'UTC')::date"
BUMP = "UPDATE reports_changedday SET generation = generation + 1 WHERE day IN ({})"

POSTGRESQL = [
    # Inserts and deletes by statement (a COPY of thousands of rows bumps each day once).
    f"""CREATE OR REPLACE FUNCTION reports_incidents_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {BUMP.format("SELECT " + DAY_PG.format("opened_at") + " FROM added")}; RETURN NULL; END $$""",
    f"""CREATE OR REPLACE FUNCTION reports_incidents_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {BUMP.format("SELECT " + DAY_PG.format("opened_at") + " FROM removed")}; RETURN NULL; END $$""",
    f"""CREATE OR REPLACE FUNCTION reports_incident_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {BUMP.format(DAY_PG.format("OLD.opened_at") + ", " + DAY_PG.format("NEW.opened_at"))}; RETURN NULL; END $$""",
    f"""CREATE OR REPLACE FUNCTION reports_escalations_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {BUMP.format("SELECT " + DAY_PG.format("i.opened_at") + " FROM added e JOIN incidents_incident i ON i.id = e.incident_id")};
    RETURN NULL; END $$""",
    f"""CREATE OR REPLACE FUNCTION reports_escalations_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {BUMP.format("SELECT " + DAY_PG.format("i.opened_at") + " FROM removed e JOIN incidents_incident i ON i.id = e.incident_id")};
    RETURN NULL; END $$""",
    f"""CREATE OR REPLACE FUNCTION reports_escalation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {BUMP.format("SELECT " + DAY_PG.format("i.opened_at") + " FROM incidents_incident i WHERE i.id IN (OLD.incident_id, NEW.incident_id)")};
    RETURN NULL; END $$""",
    """CREATE OR REPLACE TRIGGER reports_incidents_added AFTER INSERT ON incidents_incident
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION reports_incidents_added()""",
    """CREATE OR REPLACE TRIGGER reports_incidents_removed AFTER DELETE ON incidents_incident
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION reports_incidents_removed()""",
    # By row, only when a read field really changes: the worker's updates of the cached evaluation
    # never run it.
    f"""CREATE OR REPLACE TRIGGER reports_incident_changed AFTER UPDATE OF {", ".join(READ)} ON incidents_incident
    FOR EACH ROW WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in READ)})
    EXECUTE FUNCTION reports_incident_changed()""",
    """CREATE OR REPLACE TRIGGER reports_escalations_added AFTER INSERT ON escalations_escalation
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION reports_escalations_added()""",
    """CREATE OR REPLACE TRIGGER reports_escalations_removed AFTER DELETE ON escalations_escalation
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION reports_escalations_removed()""",
    """CREATE OR REPLACE TRIGGER reports_escalation_changed AFTER UPDATE OF incident_id, level ON escalations_escalation
    FOR EACH ROW WHEN (OLD.incident_id IS DISTINCT FROM NEW.incident_id OR OLD.level IS DISTINCT FROM NEW.level)
    EXECUTE FUNCTION reports_escalation_changed()""",
]
# SQLite stores a UTC datetime as text: date() gives its UTC day.
SQLITE = [
    f"""CREATE TRIGGER reports_incidents_added AFTER INSERT ON incidents_incident
    BEGIN {BUMP.format("date(NEW.opened_at)")}; END""",
    f"""CREATE TRIGGER reports_incidents_removed AFTER DELETE ON incidents_incident
    BEGIN {BUMP.format("date(OLD.opened_at)")}; END""",
    f"""CREATE TRIGGER reports_incident_changed AFTER UPDATE OF {", ".join(READ)} ON incidents_incident
    WHEN {" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in READ)}
    BEGIN {BUMP.format("date(OLD.opened_at), date(NEW.opened_at)")}; END""",
    f"""CREATE TRIGGER reports_escalations_added AFTER INSERT ON escalations_escalation
    BEGIN {BUMP.format("SELECT date(opened_at) FROM incidents_incident WHERE id = NEW.incident_id")}; END""",
    f"""CREATE TRIGGER reports_escalations_removed AFTER DELETE ON escalations_escalation
    BEGIN {BUMP.format("SELECT date(opened_at) FROM incidents_incident WHERE id = OLD.incident_id")}; END""",
    f"""CREATE TRIGGER reports_escalation_changed AFTER UPDATE OF incident_id, level ON escalations_escalation
    WHEN OLD.incident_id IS NOT NEW.incident_id OR OLD.level IS NOT NEW.level
    BEGIN {BUMP.format("SELECT date(opened_at) FROM incidents_incident WHERE id IN (OLD.incident_id, NEW.incident_id)")}; END""",
]
NAMES = ("reports_incidents_added", "reports_incidents_removed", "reports_incident_changed",
         "reports_escalations_added", "reports_escalations_removed", "reports_escalation_changed")


def install(connection: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in POSTGRESQL:  # CREATE OR REPLACE TRIGGER: PostgreSQL 14 and later
                cursor.execute(sql)
        else:
            for name in NAMES:  # SQLite cannot replace a trigger
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            for sql in SQLITE:
                cursor.execute(sql)


def uninstall(connection: Any) -> None:
    with connection.cursor() as cursor:
        for name in NAMES:
            if connection.vendor == "postgresql":
                table = "escalations_escalation" if "escalation" in name else "incidents_incident"
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def installed(connection: Any) -> set[str]:
    """The names of the triggers present (what a test checks after every migration)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall()} & set(NAMES)
