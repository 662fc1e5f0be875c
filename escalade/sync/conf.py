"""The connectors configured in the settings (the environment)."""

from __future__ import annotations

from django.conf import settings

from escalade.sync.rt import RequestTracker, RTSettings, parse_mapping, parse_priorities


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
