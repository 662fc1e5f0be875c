"""Errors the services raise for people and programs: a stable `code`, a French `detail`, a status."""

from __future__ import annotations

from typing import Any


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


class Conflict(ServiceError):
    status = 409


def incident_not_found(request_number: str) -> NotFound:
    return NotFound(
        "incident_not_found",
        f"Aucun incident ne porte le numéro de requête « {request_number} ».",
    )
