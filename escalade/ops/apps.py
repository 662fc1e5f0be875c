from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """The `escalade` commands that drive the service (serve, worker, demo, check, import, …)."""

    name = "escalade.ops"
    label = "ops"
    verbose_name = _("Exploitation")

    def ready(self) -> None:
        if settings.ESCALADE_ITOP_WEBHOOK_TOKEN:  # iTop's dates carry no offset: their zone must exist
            try:
                ZoneInfo(settings.ESCALADE_ITOP_TIMEZONE)
            except (ZoneInfoNotFoundError, ValueError):
                raise ImproperlyConfigured(
                    f"ESCALADE_ITOP_TIMEZONE: unknown time zone {settings.ESCALADE_ITOP_TIMEZONE!r}") from None
        if not getattr(settings, "_wrapped", settings).__dict__.get("SECRET_KEY"):
            raise ImproperlyConfigured("ESCALADE_SECRET_KEY must be set in production (ESCALADE_DEV=0)")
        # The embedded database's folder, made when Django starts rather than when settings are read.
        database = settings.DATABASES["default"]
        if str(database["ENGINE"]).endswith("sqlite3") and database["NAME"] not in ("", ":memory:"):
            Path(str(database["NAME"])).parent.mkdir(parents=True, exist_ok=True)
