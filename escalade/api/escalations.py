"""/api/v1/escalations: ask for an escalation, list, detail, acknowledge (the provider's staff)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from escalade.api import clock
from escalade.api.answers import answer
from escalade.api.paging import PageQuery, page_of
from escalade.api.problems import problem
from escalade.api.schemas import (
    LEVELS,
    LEVELS_TEXT,
    NOT_FOUND,
    WRITE_ERRORS,
    EscalationDetailOut,
    EscalationIn,
    EscalationPage,
    ProblemOut,
    RefusalOut,
)
from escalade.api.serializers import escalation_json, instant
from escalade.core.contract import evaluation_json
from escalade.errors import NotFound, ServiceError
from escalade.escalations.services import (
    EscalationOutcome,
    acknowledge_escalation,
    get_visible_escalation,
    request_escalation,
    visible_escalations,
)
from escalade.incidents.evaluation import evaluation_now
from escalade.incidents.models import Channel

router = Router(tags=["escalations"])

REQUEST_CHANNELS = (Channel.API, Channel.WEB, Channel.PHONE, Channel.EMAIL)


class EscalationFilters(Schema):
    acknowledged: bool | None = Field(None, description="true : prises en compte ; false : en attente.")
    level: int | None = Field(None, ge=1, le=max(LEVELS, default=1), description=f"Niveau ({LEVELS_TEXT}).")
    request_number: str | None = Field(None, description="Numéro de requête de l'incident.")


def _in_range(escalation_id: int) -> int:
    """An identifier no database column can hold is simply unknown (not a 500)."""
    if not 0 < escalation_id < 2**63:
        raise NotFound("escalation_not_found", _("Aucune escalade n'a l'identifiant {id}.").format(id=escalation_id))
    return escalation_id


def _with_evaluation(escalation: Any, evaluation: Any, incident: Any = None) -> dict[str, Any]:
    incident = incident or escalation.incident
    return {**escalation_json(escalation, incident=incident), "evaluation": evaluation_json(incident.policy, evaluation)}


def _refusal(outcome: EscalationOutcome) -> HttpResponse:
    decision = outcome.evaluation.escalation
    extra: dict[str, Any] = {
        "evaluation": evaluation_json(outcome.incident.policy, outcome.evaluation),
        "eligible_at": instant(decision.eligible_at),
    }
    if outcome.check.code == "level_above_allowed":
        extra["allowed_level"] = decision.level
    return problem(409, outcome.check.code, outcome.check.message, **extra)


@router.post(
    "/escalations",
    response={200: EscalationDetailOut, 201: EscalationDetailOut, **WRITE_ERRORS, 409: RefusalOut},
    summary="Demander une escalade",
    description="Le numéro de requête est obligatoire. 201 : escalade accordée, les contacts du "
    "niveau sont prévenus et la réponse donne les contacts à appeler. 200 : ce niveau était déjà "
    "escaladé (aucune nouvelle notification). 409 : escalade impossible maintenant (code : "
    "priority_not_escalable, incident_resolved, no_commitment_exceeded, threshold_not_reached avec "
    "eligible_at, level_above_allowed avec allowed_level), avec l'évaluation. 404 : numéro inconnu "
    "ou hors de votre périmètre.",
)
def post_escalation(request: HttpRequest, payload: EscalationIn) -> Any:
    channel = payload.channel or Channel.API
    if channel not in REQUEST_CHANNELS:
        raise ServiceError(
            "invalid_channel",
            _("Canal inconnu « {channel} » (attendu : {expected}).").format(
                channel=channel, expected=", ".join(REQUEST_CHANNELS)),
            field="channel",
        )
    outcome = request_escalation(
        user=request.auth,  # type: ignore[attr-defined]
        request_number=payload.request_number,
        reason=payload.reason or "",
        now=clock.now(),
        level=payload.level,
        channel=channel,
        on_behalf_of=payload.on_behalf_of.strip(),
    )
    if outcome.escalation is None:
        return _refusal(outcome)
    return answer(EscalationDetailOut, _with_evaluation(outcome.escalation, outcome.evaluation, outcome.incident),
                  status=201 if outcome.created else 200)


@router.get(
    "/escalations",
    response={200: EscalationPage},
    summary="Lister les escalades visibles",
    description="Les escalades des incidents de votre périmètre, les plus récentes d'abord. Filtres : "
    "acknowledged, level, request_number.",
)
def list_escalations(
    request: HttpRequest, filters: Query[EscalationFilters], paging: Query[PageQuery]
) -> dict[str, Any]:
    escalations = visible_escalations(request.auth)  # type: ignore[attr-defined]
    if filters.acknowledged is not None:
        escalations = escalations.filter(acknowledged_at__isnull=not filters.acknowledged)
    if filters.level is not None:
        escalations = escalations.filter(level=filters.level)
    if filters.request_number:
        escalations = escalations.filter(incident__request_number=filters.request_number)
    return page_of(escalations.order_by("-granted_at", "-id"), paging, escalation_json)


@router.get(
    "/escalations/{int:escalation_id}",
    response={200: EscalationDetailOut, **NOT_FOUND},
    summary="Consulter une escalade",
    description="L'escalade, ses contacts et l'évaluation de l'incident à l'instant présent.",
)
def get_escalation(request: HttpRequest, escalation_id: int) -> dict[str, Any]:
    escalation_id = _in_range(escalation_id)
    escalation = get_visible_escalation(request.auth, escalation_id)  # type: ignore[attr-defined]
    return _with_evaluation(escalation, evaluation_now(escalation.incident, clock.now()))


@router.post(
    "/escalations/{int:escalation_id}/ack",
    response={200: EscalationDetailOut, 403: ProblemOut, **NOT_FOUND},
    summary="Prendre en compte une escalade",
    description="Réservé à l'équipe interne : arrête les relances. Répéter la prise en compte ne "
    "change rien (200).",
)
def ack_escalation(request: HttpRequest, escalation_id: int) -> dict[str, Any]:
    escalation_id = _in_range(escalation_id)
    now = clock.now()
    escalation, _changed = acknowledge_escalation(
        user=request.auth, escalation_id=escalation_id, now=now, channel=Channel.API  # type: ignore[attr-defined]
    )
    return _with_evaluation(escalation, evaluation_now(escalation.incident, now))
