"""/api/v1/incidents: create or update, list, detail with the evaluation, timeline, events."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from escalade.api import clock
from escalade.api.answers import answer
from escalade.api.paging import PageQuery, page_of, paged
from escalade.api.schemas import (
    NOT_FOUND,
    PRIORITIES_TEXT,
    WRITE_ERRORS,
    EventIn,
    IncidentDetailOut,
    IncidentIn,
    IncidentPage,
    RecordOut,
    TimelinePage,
)
from escalade.api.serializers import incident_detail, incident_summary
from escalade.core.contract import FactsError, parse_instant
from escalade.errors import ServiceError
from escalade.escalations.record import incident_record, timeline_json
from escalade.incidents.evaluation import evaluation_now
from escalade.incidents.models import Channel, Customer, Status
from escalade.incidents.services import (
    LIST_FILTERS,
    IncidentInput,
    apply_event,
    get_visible_incident,
    upsert_incident,
    visible_incidents_page,
)

router = Router(tags=["incidents"])

class IncidentFilters(Schema):
    status: Status | None = Field(None, description="open, acknowledged, paused ou resolved.")
    priority: str | None = Field(None, description=f"Priorité : {PRIORITIES_TEXT}.")
    customer: str | None = Field(None, description="Code du client.")
    track: str | None = Field(None, description="support ou production.")


def _detail(incident: Any) -> dict[str, Any]:
    return incident_detail(incident, evaluation_now(incident, clock.now()))


@router.post(
    "/incidents",
    response={200: IncidentDetailOut, 201: IncidentDetailOut, **WRITE_ERRORS},
    summary="Créer ou mettre à jour un incident",
    description="Crée l'incident (201) ou le met à jour par son numéro de requête (200). Un client ne "
    "déclare que pour son organisation, un partenaire pour ses clients ; la prise en charge, la "
    "résolution, la priorité d'un incident existant, la GTR et la filière sont réservées à l'équipe interne.",
)
def post_incident(request: HttpRequest, payload: IncidentIn) -> HttpResponse:
    user = request.auth  # type: ignore[attr-defined]
    data = IncidentInput(**payload.dict())
    incident, created = upsert_incident(
        data, user=user, channel=Channel.API, now=clock.now(), customers=Customer.objects.visible_to(user)
    )
    return answer(IncidentDetailOut, _detail(incident), status=201 if created else 200)


@router.get(
    "/incidents",
    response={200: IncidentPage},
    summary="Lister les incidents visibles",
    description="Les incidents de votre organisation, de vos clients (partenaire) ou tous (équipe "
    "l'équipe interne), du plus récent au plus ancien, avec leur évaluation à l'instant présent. Filtres : "
    "status, priority, customer, track.",
)
def list_incidents(
    request: HttpRequest, filters: Query[IncidentFilters], paging: Query[PageQuery]
) -> HttpResponse:
    given = {name: value for name in LIST_FILTERS if (value := getattr(filters, name))}
    if filters.status:
        given["status"] = filters.status.value  # the text itself: the SQL binds plain strings
    start = (paging.page - 1) * paging.page_size
    incidents, count, exact = visible_incidents_page(request.auth, given, start, paging.page_size)  # type: ignore[attr-defined]
    now = clock.now()
    return answer(IncidentPage, paged(paging, count, exact, [incident_summary(i, evaluation_now(i, now)) for i in incidents]))


@router.get(
    "/incidents/{request_number}",
    response={200: IncidentDetailOut, **NOT_FOUND},
    summary="Consulter un incident",
    description="Les faits, l'évaluation de la procédure à l'instant présent (engagements, escalade "
    "possible, contacts), les pauses et les escalades. Hors de votre périmètre : 404, comme un "
    "numéro inconnu.",
)
def get_incident(request: HttpRequest, request_number: str) -> HttpResponse:
    return answer(IncidentDetailOut, _detail(get_visible_incident(request.auth, request_number)))  # type: ignore[attr-defined]


@router.get(
    "/incidents/{request_number}/timeline",
    response={200: TimelinePage, **NOT_FOUND},
    summary="Chronologie d'un incident",
    description="Chaque étape enregistrée (création, prise en charge, pauses, escalades…), dans "
    "l'ordre : qui, quand, par quel canal.",
)
def get_timeline(request: HttpRequest, request_number: str, paging: Query[PageQuery]) -> dict[str, Any]:
    incident = get_visible_incident(request.auth, request_number)  # type: ignore[attr-defined]
    return page_of(incident.timeline.order_by("occurred_at", "id"), paging, timeline_json)


@router.get(
    "/incidents/{request_number}/record",
    response={200: RecordOut, **NOT_FOUND},
    summary="Dossier complet d'un incident",
    description="Tout ce qu'Escalade sait de l'incident, en un document (pièce d'un litige sur les "
    "engagements) : faits, évaluation, pauses, escalades, demandes d'escalade, chronologie avec sa "
    "chaîne d'empreintes, et l'empreinte finale de la chaîne (gardez-la : elle permet de vérifier "
    "plus tard que rien n'a été retiré).",
)
def get_record(request: HttpRequest, request_number: str) -> dict[str, Any]:
    incident = get_visible_incident(request.auth, request_number)  # type: ignore[attr-defined]
    return incident_record(incident, clock.now())


@router.post(
    "/incidents/{request_number}/events",
    response={200: IncidentDetailOut, **WRITE_ERRORS},
    summary="Enregistrer un événement",
    description="acknowledge (prise en charge), resolve, pause (attente client), resume, reopen, "
    "change_priority. L'équipe interne peut tout enregistrer ; un client ou un partenaire peut "
    "seulement reprendre (resume) et rouvrir (reopen) ses incidents — sinon 403.",
)
def post_event(request: HttpRequest, request_number: str, payload: EventIn) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    incident = get_visible_incident(user, request_number)
    at = None
    if payload.at is not None:
        try:
            at = parse_instant(payload.at, "at")
        except FactsError as exc:
            raise ServiceError(exc.code, exc.message, field="at") from None
    incident = apply_event(
        incident, payload.kind, user=user, channel=Channel.API, now=clock.now(), at=at,
        priority=payload.priority, note=payload.note,
    )
    return _detail(incident)
