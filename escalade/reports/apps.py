from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from escalade.reports import triggers


def _install_triggers(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    connection = connections[using]
    if "reports_changedday" in connection.introspection.table_names():
        triggers.install(connection)


class ReportsConfig(AppConfig):
    name = "escalade.reports"
    label = "reports"
    verbose_name = _("Rapports")

    def ready(self) -> None:
        # Again after every migrate: SQLite loses a table's triggers when a migration rebuilds it.
        post_migrate.connect(_install_triggers, sender=self)
