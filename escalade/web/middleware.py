"""Page middleware: the policy's time zone for every page, and one page for "not found"."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from escalade.errors import NotFound
from escalade.policies import store
from escalade.web.health import API_LATENCY
from escalade.web.views import not_found

logger = logging.getLogger("escalade.web")


class NotFoundPage:
    """Unknown and out of scope are the same page, whatever view met them (the API answers its own
    problem+json through django-ninja's handlers, before any middleware sees the error)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            return not_found(request, exception.request_number)
        return None


class PolicyTimezone:
    """Instants on pages are shown in the policy's zone (settings.TIME_ZONE is only the default)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(store.display_zone())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


UNAVAILABLE_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Escalade</title></head>
<body><h1>Service momentanément indisponible</h1><p>La base de données ne répond pas : rien n'a été
enregistré. Réessayez dans un instant.</p></body></html>"""


class DatabaseUnavailable:
    """A page whose database is unreachable or read-only answers 503 with Retry-After, plain (the
    site's layout itself needs the database), and the error is logged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable on %s %s: %s", request.method, request.path, exception)
        response = HttpResponse(UNAVAILABLE_PAGE, status=503)
        response["Retry-After"] = "30"
        return response


class RequestMetrics:
    """Each API request's duration into the `escalade_api_request_seconds` histogram."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = match.route if match is not None and match.route else "unmatched"
        API_LATENCY.labels(request.method or "", route[:100], f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
        return response
