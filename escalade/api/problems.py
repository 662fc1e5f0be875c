"""`application/problem+json` (RFC 9457) for every error the API answers, with a French `detail`.

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
from ninja.errors import AuthenticationError, HttpError, ValidationError

from escalade.errors import ServiceError

logger = logging.getLogger("escalade.api")

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Action non autorisée",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    413: "Requête trop volumineuse",
    422: "Données invalides",
    429: "Trop de requêtes",
    500: "Erreur interne",
    503: "Service momentanément indisponible",
}
# When a client should try again after the database came back (seconds).
RETRY_AFTER_UNAVAILABLE = 30
READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction


def problem(status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    body = {
        "type": f"https://escalade.hipcom.fr/problems/{code}",
        "title": TITLES.get(status, "Erreur"),
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


# Pydantic error types → French, for people reading a 422.
_MESSAGES = {
    "missing": "est obligatoire",
    "string_type": "doit être une chaîne de caractères",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "bool_type": "doit valoir true ou false",
    "bool_parsing": "doit valoir true ou false",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "greater_than": "doit être supérieur à {gt}",
    "less_than": "doit être inférieur à {lt}",
    "string_too_long": "est trop long ({max_length} caractères au plus)",
    "string_too_short": "est trop court",
    "literal_error": "doit valoir l'une de ces valeurs : {expected}",
    "enum": "doit valoir l'une de ces valeurs : {expected}",
    "json_invalid": "n'est pas du JSON valide",
    "model_attributes_type": "doit être un objet JSON",
    "dict_type": "doit être un objet JSON",
    "model_type": "doit être un objet JSON",
    "extra_forbidden": "n'est pas un champ connu",
    "nul_character": "contient un caractère nul (U+0000)",
}


def _field(loc: list[Any]) -> tuple[str, str]:
    """('body'|'query'|'path', 'field.sub[0]') from ninja's location, dropping the parameter name."""
    where = str(loc[0]) if loc else "body"
    parts = [str(p) for p in loc[2:]] if where == "body" else [str(p) for p in loc[1:]]
    return where, ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    template = _MESSAGES.get(str(error.get("type")), "a une valeur invalide")
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
            text = f"le corps de la requête {message}" if where == "body" else message
        else:
            text = f"« {field} » {message}"
        errors.append({"field": field or None, "in": where, "message": text})
    if locations == {"body"}:
        code, lead = "invalid_body", "Corps de requête invalide"
    else:
        code, lead = "invalid_parameters", "Paramètres invalides"
    detail = f"{lead} : " + " ; ".join(e["message"] for e in errors) + "."
    return problem(422, code, detail, errors=errors)


def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if request.headers.get("Authorization"):
        return problem(401, "invalid_token", "Jeton d'API invalide, révoqué ou mal formé "
                       "(attendu : « Authorization: Bearer esc_… »).")
    return problem(
        401,
        "authentication_required",
        "Authentification requise : envoyez un jeton d'API (« Authorization: Bearer esc_… ») "
        "ou connectez-vous.",
    )


def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in exc.message:
        return problem(403, "csrf_failed", "Vérification CSRF échouée : envoyez l'en-tête X-CSRFToken "
                       "avec une session, ou utilisez un jeton d'API.")
    if exc.status_code == 400:
        return problem(400, "bad_request", "Requête illisible : vérifiez le JSON envoyé et son en-tête "
                       "Content-Type.")
    return problem(exc.status_code, f"http_{exc.status_code}", TITLES.get(exc.status_code, "Erreur") + ".")


def not_found(request: HttpRequest, exc: Exception | None = None) -> HttpResponse:
    return problem(404, "not_found", f"Aucune ressource à l'adresse « {request.path} ».")


def too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem(413, "request_too_large",
                   f"Requête trop volumineuse : le corps dépasse {limit // 1024} Kio.")


def unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database cannot be reached or refuses writes: nothing was done, try again later."""
    logger.error("database unavailable on %s %s: %s", request.method, request.path, exc)
    response = problem(503, "service_unavailable", "Service momentanément indisponible (base de données "
                       "injoignable, pleine ou en lecture seule) : rien n'a été enregistré, réessayez dans un instant.")
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
        return problem(422, "invalid_character", "La requête contient un caractère nul (U+0000).")
    logger.exception("unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return problem(500, "internal_error", "Erreur interne : l'incident a été journalisé.")
