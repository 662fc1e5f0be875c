"""The OpenAPI document says what the API does: every error answer is `application/problem+json`,
and each operation lists the statuses it can give. The statuses that come from the operation's
shape are added here, in one place; those that come from its meaning (404, 409, a 403 of the
procedure) are declared on the route."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}

DESCRIPTIONS = {
    400: "Corps illisible (JSON mal formé).",
    401: "Authentification requise, ou jeton invalide, révoqué ou mal formé.",
    403: "Réservé à un autre rôle, ou vérification CSRF échouée (session).",
    404: "Inconnu, ou hors de votre périmètre (les deux sont identiques).",
    409: "En conflit avec l'état de l'incident ou la procédure.",
    413: "Corps trop volumineux.",
    422: "Paramètres ou corps invalides (détail par champ).",
    429: "Trop de demandes : réessayez après le délai de l'en-tête Retry-After.",
    503: "Base de données indisponible ou en lecture seule : réessayez après Retry-After.",
}
RETRY_AFTER = {"Retry-After": {"description": "Secondes à attendre.", "schema": {"type": "integer"}}}


def shape_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """What any operation of this shape can answer, whatever it means."""
    statuses = {401, 429, 503}  # authentication, failed-token throttling, the database
    parameters = operation.get("parameters", [])
    # Any text is a possible request number (an unknown one is a 404): only other values can be invalid.
    if "requestBody" in operation or any(
        p.get("in") != "path" or p.get("schema", {}).get("type") != "string" for p in parameters
    ):
        statuses.add(422)
    if method in ("post", "put", "patch", "delete"):
        statuses |= {403}  # a session write without its CSRF token
    if "requestBody" in operation:
        statuses |= {400, 413}
    return statuses


def declare_problems(schema: dict[str, Any]) -> dict[str, Any]:
    for methods in schema.get("paths", {}).values():
        for method, operation in methods.items():
            # ninja keys responses by int: one key per status, as the document's strings.
            responses = {int(k): v for k, v in operation.get("responses", {}).items()}
            for status in shape_statuses(method, operation):
                responses.setdefault(status, {})
            for status, response in responses.items():
                if status < 400:
                    continue
                body = response.get("content", {}).get("application/json", {}).get("schema", PROBLEM_REF)
                response["content"] = {PROBLEM: {"schema": body}}
                response["description"] = DESCRIPTIONS.get(status, response.get("description", ""))
                if status in (429, 503):
                    response["headers"] = RETRY_AFTER
            operation["responses"] = {str(k): responses[k] for k in sorted(responses)}
    return schema
