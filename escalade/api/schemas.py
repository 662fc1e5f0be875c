"""Request and response bodies, as the OpenAPI document shows them (descriptions in French).

Inputs are deliberately loose where the services check better: instants are strings so that an
instant without an offset gets the core's French message, and a missing request number gets the
procedure's own error (`request_number_required`) rather than a generic one.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from escalade.incidents.services import EVENT_KINDS
from escalade.policies import file_policy

# The policy's own names in the documented schema (priorities, tracks and levels are the policy's):
# the default policy's file, read without the database (the document is built at start-up). A
# contract under another policy uses that policy's names (GET /api/v1/policy); the fields take any
# text, so that the service answers with the contract's own message.
_POLICY = file_policy()
OTHER_POLICIES = " (politique par défaut ; un contrat sous une autre politique a les siennes : GET /api/v1/policy)"
PRIORITIES_TEXT = ", ".join(_POLICY.priorities) + OTHER_POLICIES
TRACKS_TEXT = ", ".join(_POLICY.tracks) + OTHER_POLICIES
LEVELS = _POLICY.levels
LEVELS_TEXT = ", ".join(str(level) for level in LEVELS)

# -- inputs -----------------------------------------------------------------------------------------


class Output(BaseModel):
    """What the API answers: built from the serializers' dicts, so plain pydantic (django-ninja's
    Schema runs a Django-object resolver on every nested model: half of a list page's time)."""

    model_config = ConfigDict(from_attributes=True)


class InputSchema(Schema):
    @field_validator("*", mode="before")
    @classmethod
    def no_nul_character(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000; refuse it here rather than fail in the database.
        if isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("nul_character", "contains a NUL character")
        return value


def _documented(schema: dict[str, Any], *, nullable: bool = False) -> Any:
    """The document states what the service accepts (the policy's names, instants with an offset)
    while the field takes any text, so that the service answers with its own French message."""
    return WithJsonSchema({"anyOf": [schema, {"type": "null"}]} if nullable else schema)


PRIORITY = {"type": "string", "enum": list(_POLICY.priorities)}
TRACK = {"type": "string", "enum": list(_POLICY.tracks)}
INSTANT = {"type": "string", "format": "date-time"}
REQUEST_NUMBER = {"type": "string", "pattern": _POLICY.request_number_pattern.pattern, "maxLength": 64}


class IncidentIn(InputSchema):
    request_number: Annotated[str | None, _documented(REQUEST_NUMBER, nullable=True)] = Field(
        None, description="Numéro de requête de l'incident (ex. REQ-1042) ; sans numéro, un client ou "
        "un partenaire déclare et Escalade numérote.")
    customer: str = Field(..., min_length=1, description="Code du client.")
    priority: Annotated[str, _documented(PRIORITY)] = Field(..., description=f"Priorité : {PRIORITIES_TEXT}.")
    track: Annotated[str | None, _documented(TRACK, nullable=True)] = Field(
        None, description=f"Filière : {TRACKS_TEXT} (défaut : {_POLICY.default_track}).")
    gtr: bool | None = Field(None, description="Garantie de temps de rétablissement ; défaut : celle du contrat.")
    opened_at: Annotated[str | None, _documented(INSTANT, nullable=True)] = Field(
        None, description="Ouverture, ISO-8601 avec décalage.")
    acknowledged_at: Annotated[str | None, _documented(INSTANT, nullable=True)] = Field(
        None, description="Prise en charge, ISO-8601 avec décalage.")
    resolved_at: Annotated[str | None, _documented(INSTANT, nullable=True)] = Field(
        None, description="Résolution, ISO-8601 avec décalage.")
    title: str | None = Field(None, max_length=300, description="Titre libre.")


class EventIn(InputSchema):
    kind: Annotated[str, _documented({"type": "string", "enum": list(EVENT_KINDS)})] = Field(
        ..., description="acknowledge, resolve, pause, resume, reopen, change_priority ou archive "
        "(un incident résolu quitte les vues de travail ; rien n'est jamais effacé)."
    )
    at: Annotated[str | None, _documented(INSTANT, nullable=True)] = Field(
        None, description="Instant de l'événement (défaut : maintenant), ISO-8601 avec décalage.")
    priority: Annotated[str | None, _documented(PRIORITY, nullable=True)] = Field(
        None, description=f"Nouvelle priorité (pour change_priority) : {PRIORITIES_TEXT}.")
    note: str = Field("", max_length=2000, description="Commentaire enregistré dans la chronologie.")


def _required_text(max_length: int) -> Any:
    """Documented as a required, non-null, non-empty string; accepted as missing or null at runtime
    so that the service answers with the procedure's own error code (reason_required…)."""
    return _documented({"type": "string", "minLength": 1, "maxLength": max_length})


class EscalationIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"required": ["request_number", "reason"]})

    request_number: Annotated[str | None, _documented(REQUEST_NUMBER)] = Field(
        None, description="Numéro de requête de l'incident : obligatoire (procédure §4)."
    )
    level: int | None = Field(
        None, ge=1, le=max(LEVELS, default=1),
        description=f"Niveau demandé ({LEVELS_TEXT}) ; défaut : le plus haut niveau autorisé.",
    )
    reason: Annotated[str | None, _required_text(5000)] = Field(
        None, max_length=5000, description="Motif de l'escalade (obligatoire)."
    )
    channel: Annotated[str | None, _documented({"type": "string", "enum": ["api", "web", "phone", "email"]},
                                               nullable=True)] = Field(
        None, description="Canal : api (défaut), web ; phone et email pour l'équipe interne.")
    on_behalf_of: str = Field("", max_length=200, description="Pour le compte de (appel téléphonique reçu).")


# -- outputs ----------------------------------------------------------------------------------------


class ProblemOut(Output):
    type: str
    title: str
    status: int
    detail: str = Field(..., description="Explication en français.")
    code: str = Field(..., description="Code stable, pour les programmes.")


class ContactOut(Output):
    level: int
    name: str
    role: str
    phones: list[str]
    email: str


class CommitmentOut(Output):
    target_minutes: int
    clock: str
    due_at: str | None
    stopped_at: str | None
    state: str = Field(..., description="running, met, breached, missed ou paused.")
    overdue_minutes: int


class CommitmentsOut(Output):
    take_charge: CommitmentOut
    resolution: CommitmentOut | None


class DecisionOut(Output):
    allowed: bool
    level: int
    reason: str
    message: str
    eligible_at: str | None
    next_level_at: str | None
    contacts: list[ContactOut]


class EvaluationOut(Output):
    request_number: str
    priority: str
    evaluated_at: str
    commitments: CommitmentsOut
    escalation: DecisionOut


class RefusalOut(ProblemOut):
    evaluation: EvaluationOut
    eligible_at: str | None = None
    allowed_level: int | None = None


class CustomerOut(Output):
    code: str
    name: str
    partner: str | None
    policy: str = Field(description="La politique de son contrat (celle par défaut s'il n'en nomme aucune).")


class PolicyVersionOut(Output):
    name: str
    version: int


class PauseOut(Output):
    start: str
    end: str | None


class EscalationOut(Output):
    id: int
    number: str = Field(..., description="ESC-000001")
    level: int
    request_number: str
    requester: str
    requester_role: str
    channel: str
    reason: str
    granted_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    contacts: list[ContactOut]


class EscalationDetailOut(EscalationOut):
    evaluation: EvaluationOut


class IncidentOut(Output):
    request_number: str
    customer: CustomerOut
    title: str
    priority: str
    track: str
    gtr: bool
    status: str = Field(..., description="open, acknowledged, paused ou resolved.")
    opened_at: str
    acknowledged_at: str | None
    resolved_at: str | None
    escalated_level: int
    policy: PolicyVersionOut = Field(description="La version de politique dont l'incident tient ses engagements "
                                     "(celle en vigueur à son ouverture).")
    evaluation: EvaluationOut


class IncidentDetailOut(IncidentOut):
    pauses: list[PauseOut]
    escalations: list[EscalationOut]


class TimelineEventOut(Output):
    id: int
    kind: str
    label: str
    occurred_at: str
    recorded_at: str
    actor: str
    channel: str
    data: dict[str, Any]
    previous_hash: str = Field(..., description="Empreinte de l'entrée précédente de l'incident (vide : la première).")
    hash: str = Field(..., description="sha256 de l'entrée et de l'empreinte précédente (escalade audit verify).")


class RecordIncidentOut(Output):
    request_number: str
    customer: dict[str, str]
    title: str
    priority: str
    track: str
    gtr: bool
    status: str
    opened_at: str
    reported_started_at: str | None
    acknowledged_at: str | None
    resolved_at: str | None
    reopenings: list[dict[str, str]]
    archived_at: str | None


class RecordRequestOut(Output):
    requested_at: str
    requested_level: int | None
    outcome: str
    outcome_label: str
    code: str
    escalation: str | None
    requester: str
    requester_role: str
    channel: str
    reason: str
    repeat_count: int
    last_requested_at: str | None


class ChainOut(Output):
    entries: int
    head: str
    intact: bool
    broken_at: dict[str, Any] | None


class RecordOut(Output):
    document: str
    generated_at: str
    organisation: str
    incident: RecordIncidentOut
    evaluation: EvaluationOut
    pauses: list[PauseOut]
    escalations: list[EscalationOut]
    escalation_requests: list[RecordRequestOut]
    timeline: list[TimelineEventOut]
    chain: ChainOut


class Paged(Output):
    count: int = Field(description="Nombre d'éléments de la liste : exact jusqu'à 10 000, estimé au-delà "
                       "(voir count_exact).")
    count_exact: bool = Field(description="false quand count est l'estimation du planificateur de PostgreSQL.")
    page: int
    page_size: int


class IncidentPage(Paged):
    items: list[IncidentOut]


class EscalationPage(Paged):
    items: list[EscalationOut]


class TimelinePage(Paged):
    items: list[TimelineEventOut]


class PolicyOut(Output):
    name: str
    version: int
    organisation: str
    timezone: str
    request_number_pattern: str
    request_number_example: str
    levels: list[int]
    priorities: list[dict[str, Any]]
    tracks: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    calendars: list[dict[str, Any]]
    notifications: dict[str, Any]


# What a route's meaning can answer; what its shape can answer is added in api.openapi.
NOT_FOUND: dict[int, Any] = {404: ProblemOut}
WRITE_ERRORS: dict[int, Any] = {403: ProblemOut, 404: ProblemOut, 409: ProblemOut}
