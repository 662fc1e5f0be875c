"""The connectors configured in the settings (the environment)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings

from escalade.sync.glpi import GLPISettings
from escalade.sync.itop import ITopSettings
from escalade.sync.jira import JiraSettings
from escalade.sync.rt import RequestTracker, RTSettings, parse_mapping, parse_priorities
from escalade.sync.zammad import ZammadSettings


def rt_settings() -> RTSettings | None:
    if not settings.ESCALADE_RT_URL:
        return None
    return RTSettings(url=settings.ESCALADE_RT_URL, user=settings.ESCALADE_RT_USER,
                      password=settings.ESCALADE_RT_PASSWORD, token=settings.ESCALADE_RT_TOKEN,
                      number_prefix=settings.ESCALADE_RT_NUMBER_PREFIX, queues=parse_mapping(settings.ESCALADE_RT_QUEUES),
                      priorities=parse_priorities(settings.ESCALADE_RT_PRIORITIES))


def request_tracker() -> RequestTracker | None:
    found = rt_settings()
    return RequestTracker(found) if found is not None else None


def zammad_settings() -> ZammadSettings | None:
    if not settings.ESCALADE_ZAMMAD_WEBHOOK_SECRET:
        return None
    return ZammadSettings(secret=settings.ESCALADE_ZAMMAD_WEBHOOK_SECRET,
                          number_prefix=settings.ESCALADE_ZAMMAD_NUMBER_PREFIX,
                          organisations=parse_mapping(settings.ESCALADE_ZAMMAD_ORGANISATIONS),
                          priorities=parse_mapping(settings.ESCALADE_ZAMMAD_PRIORITIES))


def jira_settings() -> JiraSettings | None:
    if not settings.ESCALADE_JIRA_WEBHOOK_SECRET:
        return None
    waiting = tuple(s.strip() for s in settings.ESCALADE_JIRA_WAITING_STATUSES.split(",") if s.strip())
    return JiraSettings(secret=settings.ESCALADE_JIRA_WEBHOOK_SECRET, projects=parse_mapping(settings.ESCALADE_JIRA_PROJECTS),
                        priorities=parse_mapping(settings.ESCALADE_JIRA_PRIORITIES), waiting=waiting)


def glpi_settings() -> GLPISettings | None:
    if not settings.ESCALADE_GLPI_WEBHOOK_SECRET:
        return None
    return GLPISettings(secret=settings.ESCALADE_GLPI_WEBHOOK_SECRET, number_prefix=settings.ESCALADE_GLPI_NUMBER_PREFIX,
                        entities=parse_mapping(settings.ESCALADE_GLPI_ENTITIES),
                        priorities=parse_mapping(settings.ESCALADE_GLPI_PRIORITIES))


def itop_settings() -> ITopSettings | None:
    if not settings.ESCALADE_ITOP_WEBHOOK_TOKEN:
        return None
    return ITopSettings(token=settings.ESCALADE_ITOP_WEBHOOK_TOKEN, timezone=ZoneInfo(settings.ESCALADE_ITOP_TIMEZONE),
                        organisations=parse_mapping(settings.ESCALADE_ITOP_ORGANISATIONS),
                        priorities=parse_mapping(settings.ESCALADE_ITOP_PRIORITIES))
