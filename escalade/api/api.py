"""The NinjaAPI: routers, authentication, and problem+json for every error."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, InternalError, OperationalError
from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from escalade.api import escalations, hooks, incidents, policy, problems
from escalade.api.auth import bearer, session
from escalade.api.openapi import declare_problems
from escalade.errors import ServiceError


class AccessibleSwagger(Swagger):
    """The bundled Swagger UI in a page with a language, a landmark and readable contrast."""

    template = "api/swagger.html"


class EscaladeAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return declare_problems(super().get_openapi_schema(**kwargs))


api = EscaladeAPI(
    title="Escalade API",
    version="1",
    description=(
        "Les incidents, leurs engagements de délai et les escalades selon la procédure en vigueur. "
        "Authentification : « Authorization: Bearer esc_… » (jeton d'API) ou session du site (avec "
        "X-CSRFToken pour les écritures). Les erreurs sont en application/problem+json avec un "
        "« detail » en français et un « code » stable."
    ),
    urls_namespace="api",
    auth=[bearer, session],
    # Without deep links Swagger UI nests no link inside its operation buttons (axe: nested-interactive).
    docs=AccessibleSwagger(settings={"deepLinking": False}),
)
api.add_router("", incidents.router)
api.add_router("", escalations.router)
api.add_router("", policy.router)
api.add_router("", hooks.router)

api.add_exception_handler(ServiceError, problems.service_error)
api.add_exception_handler(ValidationError, problems.validation_error)
api.add_exception_handler(AuthenticationError, problems.authentication_error)
api.add_exception_handler(HttpError, problems.http_error)
api.add_exception_handler(Http404, problems.not_found)
api.add_exception_handler(RequestDataTooBig, problems.too_big)
api.add_exception_handler(OperationalError, problems.unavailable)
api.add_exception_handler(InterfaceError, problems.unavailable)
api.add_exception_handler(InternalError, problems.database_error)
api.add_exception_handler(Exception, problems.unexpected)
