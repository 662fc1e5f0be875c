"""`application/problem+json` (RFC 9457) for every error the API answers, with a `detail` in the
reader's language (`Accept-Language`; French by default).

Every body has `type`, `title`, `status`, `detail` and a stable `code`, plus extra members
(`errors`, `evaluation`, `eligible_at`, `allowed_level`, …) when the error has them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja.errors import AuthenticationError, HttpError, ValidationError

from escalade.errors import ServiceError

logger = logging.getLogger("escalade.api")

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: gettext_lazy("Requête invalide"),
    401: gettext_lazy("Authentification requise"),
    403: gettext_lazy("Action non autorisée"),
    404: gettext_lazy("Ressource introuvable"),
    405: gettext_lazy("Méthode non autorisée"),
    409: gettext_lazy("Conflit"),
    413: gettext_lazy("Requête trop volumineuse"),
    422: gettext_lazy("Données invalides"),
    429: gettext_lazy("Trop de requêtes"),
    500: gettext_lazy("Erreur interne"),
    502: gettext_lazy("Service tiers injoignable"),
    503: gettext_lazy("Service momentanément indisponible"),
}
# When a client should try again after the database came back (seconds).
RETRY_AFTER_UNAVAILABLE = 30
READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction


def problem(status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    body = {
        "type": f"urn:escalade:problem:{code}",  # the product's, not one provider's domain
        "title": str(TITLES.get(status, _("Erreur"))),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, default=str), status=status, content_type=CONTENT_TYPE
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="escalade"'
    return response


def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    response = problem(exc.status, exc.code, exc.detail, **exc.extra)
    if "retry_after" in exc.extra:
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


# Pydantic error types → words, for people reading a 422 (French, or the reader's language).
_MESSAGES = {
    "missing": gettext_lazy("est obligatoire"),
    "string_type": gettext_lazy("doit être une chaîne de caractères"),
    "int_type": gettext_lazy("doit être un nombre entier"),
    "int_parsing": gettext_lazy("doit être un nombre entier"),
    "int_from_float": gettext_lazy("doit être un nombre entier"),
    "bool_type": gettext_lazy("doit valoir true ou false"),
    "bool_parsing": gettext_lazy("doit valoir true ou false"),
    "greater_than_equal": gettext_lazy("doit être supérieur ou égal à {ge}"),
    "less_than_equal": gettext_lazy("doit être inférieur ou égal à {le}"),
    "greater_than": gettext_lazy("doit être supérieur à {gt}"),
    "less_than": gettext_lazy("doit être inférieur à {lt}"),
    "string_too_long": gettext_lazy("est trop long ({max_length} caractères au plus)"),
    "string_too_short": gettext_lazy("est trop court"),
    "literal_error": gettext_lazy("doit valoir l'une de ces valeurs : {expected}"),
    "enum": gettext_lazy("doit valoir l'une de ces valeurs : {expected}"),
    "json_invalid": gettext_lazy("n'est pas du JSON valide"),
    "model_attributes_type": gettext_lazy("doit être un objet JSON"),
    "dict_type": gettext_lazy("doit être un objet JSON"),
    "model_type": gettext_lazy("doit être un objet JSON"),
    "extra_forbidden": gettext_lazy("n'est pas un champ connu"),
    "nul_character": gettext_lazy("contient un caractère nul (U+0000)"),
}


def _field(loc: list[Any]) -> tuple[str, str]:
    """('body'|'query'|'path', 'field.sub[0]') from ninja's location, dropping the parameter name."""
    where = str(loc[0]) if loc else "body"
    parts = [str(p) for p in loc[2:]] if where == "body" else [str(p) for p in loc[1:]]
    return where, ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    template = str(_MESSAGES.get(str(error.get("type")), _("a une valeur invalide")))
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    locations = set()
    for error in exc.errors:
        where, field = _field(list(error.get("loc", ())))
        locations.add(where)
        message = _message(error)
        if not field:
            text = _("le corps de la requête {message}").format(message=message) if where == "body" else message
        else:
            text = _("« {field} » {message}").format(field=field, message=message)
        errors.append({"field": field or None, "in": where, "message": text})
    if locations == {"body"}:
        code, lead = "invalid_body", _("Corps de requête invalide")
    else:
        code, lead = "invalid_parameters", _("Paramètres invalides")
    detail = _("{lead} : {errors}.").format(lead=lead, errors=_(" ; ").join(e["message"] for e in errors))
    return problem(422, code, detail, errors=errors)


def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if request.headers.get("Authorization"):
        return problem(401, "invalid_token", _("Jeton d'API invalide, révoqué ou mal formé "
                                               "(attendu : « Authorization: Bearer esc_… »)."))
    return problem(
        401,
        "authentication_required",
        _("Authentification requise : envoyez un jeton d'API (« Authorization: Bearer esc_… ») "
          "ou connectez-vous."),
    )


def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in exc.message:
        return problem(403, "csrf_failed", _("Vérification CSRF échouée : envoyez l'en-tête X-CSRFToken "
                                             "avec une session, ou utilisez un jeton d'API."))
    if exc.status_code == 400:
        return problem(400, "bad_request", _("Requête illisible : vérifiez le JSON envoyé et son en-tête "
                                             "Content-Type."))
    return problem(exc.status_code, f"http_{exc.status_code}", str(TITLES.get(exc.status_code, _("Erreur"))) + ".")


def not_found(request: HttpRequest, exc: Exception | None = None) -> HttpResponse:
    return problem(404, "not_found", _("Aucune ressource à l'adresse « {path} ».").format(path=request.path))


def too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem(413, "request_too_large",
                   _("Requête trop volumineuse : le corps dépasse {size} Kio.").format(size=limit // 1024))


def unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database cannot be reached or refuses writes: nothing was done, try again later."""
    logger.error("database unavailable on %s %s: %s", request.method, request.path, exc)
    response = problem(503, "service_unavailable", _(
        "Service momentanément indisponible (base de données injoignable, pleine ou en lecture seule) : "
        "rien n'a été enregistré, réessayez dans un instant."))
    response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return response


def database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """PostgreSQL in read-only mode (a standby, a disk-full guard) refuses writes as an internal error."""
    if getattr(exc.__cause__, "sqlstate", None) == READ_ONLY_SQLSTATE:
        return unavailable(request, exc)
    return unexpected(request, exc)


def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Never a 500 page: the error is logged and the client gets a problem body."""
    if isinstance(exc, ValueError | DataError) and "NUL" in str(exc):  # PostgreSQL refuses U+0000
        return problem(422, "invalid_character", _("La requête contient un caractère nul (U+0000)."))
    logger.exception("unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return problem(500, "internal_error", _("Erreur interne : l'incident a été journalisé."))
