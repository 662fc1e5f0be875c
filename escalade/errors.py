"""Errors the services raise for people and programs: a stable `code`, a `detail` in the reader's
language (French by default), a status."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class ServiceError(Exception):
    status = 422

    def __init__(self, code: str, detail: str, *, status: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status is not None:
            self.status = status
        self.extra = extra


class NotFound(ServiceError):
    """Unknown and out of scope look exactly the same (404, never 403)."""

    status = 404
    request_number: str | None = None


class Conflict(ServiceError):
    status = 409


def incident_not_found(request_number: str) -> NotFound:
    error = NotFound(
        "incident_not_found",
        _("Aucun incident ne porte le numéro de requête « {number} ».").format(number=request_number),
    )
    error.request_number = request_number  # for the page that says so; not part of an API body
    return error
