"""`flush` erases the whole database, history included: the append-only triggers (ops migration
0001) are lifted on SQLite for the time of the erase, where Django deletes row by row, and put back
as they were. PostgreSQL's TRUNCATE fires no row trigger."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from escalade.policies import store


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        try:
            self._flush(**options)
        finally:
            store.clear()  # the policy versions read are gone with the rest

    def _flush(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'escalade_%'")
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                for _name, sql in triggers:
                    cursor.execute(sql)
