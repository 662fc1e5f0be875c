"""One page for "not found": every NotFound a service raises under a page is rendered here."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from escalade.errors import NotFound
from escalade.web.views import not_found


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
