"""The helpdesks' webhooks. /api/v1/hooks/rt: Request Tracker calls it (a scrip, on each ticket change) so that the change is
applied at once; the poll repairs whatever a lost call dropped, and a change seen by both is applied
once (by its transaction id)."""

from __future__ import annotations

import hmac
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router
from ninja import Status as Reply

from escalade.api.schemas import InputSchema, Output, ProblemOut
from escalade.errors import ServiceError
from escalade.sync import services, snapshot
from escalade.sync.conf import glpi_settings, itop_settings, jira_settings, request_tracker, zammad_settings
from escalade.sync.glpi import GLPI
from escalade.sync.itop import ITop
from escalade.sync.jira import Jira
from escalade.sync.zammad import Zammad

router = Router(tags=["hooks"])


class RTHookIn(InputSchema):
    ticket: int = Field(..., ge=1, description="Numéro du ticket RT modifié.")


class HookOut(Output):
    ticket: int
    applied: int = Field(..., description="Changements du ticket appliqués par cet appel (0 : déjà connus).")


@router.post(
    "/hooks/rt",
    auth=None,
    response={202: HookOut, 404: ProblemOut, 502: ProblemOut},
    summary="Request Tracker : un ticket a changé",
    description="Appelé par un scrip RT à chaque modification, avec `Authorization: Bearer <ESCALADE_RT_WEBHOOK_TOKEN>` ; "
    "Escalade relit le ticket et applique ses nouvelles transactions (une seule fois chacune).",
)
def rt_hook(request: HttpRequest, payload: RTHookIn) -> Reply:
    rt, token = request_tracker(), settings.ESCALADE_RT_WEBHOOK_TOKEN
    if rt is None or not token:
        raise ServiceError("hook_not_configured", "Aucun Request Tracker n'est configuré ici.", status=404)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ServiceError("hook_unauthorized", "Jeton du webhook absent ou invalide : rien n'est appliqué.", status=401)
    try:
        applied = services.sync_ticket(rt, payload.ticket, timezone.now())
    except ServiceError:
        raise  # the facts' own refusal (an unknown customer…): its code and message
    except Exception as exc:  # RT unreachable or the ticket unknown there: the helpdesk will retry
        raise ServiceError("helpdesk_unreachable", f"Request Tracker n'a pas répondu : {exc}", status=502) from None
    return Reply(202, {"ticket": payload.ticket, "applied": applied})


class SnapshotHookOut(Output):
    request_number: str
    applied: int = Field(..., description="Faits enregistrés par cet appel (0 : livraison déjà reçue ou rien de neuf).")


@router.post(
    "/hooks/zammad",
    auth=None,
    response={202: SnapshotHookOut, 404: ProblemOut},
    summary="Zammad : webhook d'un déclencheur",
    description="Le corps par défaut des webhooks Zammad (l'objet `ticket`), signé par `X-Hub-Signature` "
    "(HMAC-SHA1 du corps avec ESCALADE_ZAMMAD_WEBHOOK_SECRET) ; `X-Zammad-Delivery` identifie l'appel (appliqué "
    "une seule fois). L'incident est amené à l'état du ticket : pris en charge, en attente (pending), résolu "
    "(closed), rouvert.",
)
def zammad_hook(request: HttpRequest) -> Reply:
    return _snapshot_hook(request, Zammad, zammad_settings())


def _json(request: HttpRequest) -> object:
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise snapshot.PayloadError("Corps JSON illisible.") from None


@router.post(
    "/hooks/jira",
    auth=None,
    response={202: SnapshotHookOut, 404: ProblemOut},
    summary="Jira Service Management : webhook d'administration",
    description="Les événements `jira:issue_created` et `jira:issue_updated`, signés par `X-Hub-Signature` "
    "(`sha256=` HMAC-SHA256 du corps avec ESCALADE_JIRA_WEBHOOK_SECRET) ; `X-Atlassian-Webhook-Identifier` identifie "
    "la livraison (appliquée une seule fois). La clé du ticket (SUP-123) est le numéro de requête ; l'incident est "
    "amené à l'état du ticket (catégorie de statut, statut d'attente du client, assigné).",
)
def jira_hook(request: HttpRequest) -> Reply:
    return _snapshot_hook(request, Jira, jira_settings())


@router.post(
    "/hooks/glpi",
    auth=None,
    response={202: SnapshotHookOut, 404: ProblemOut},
    summary="GLPI : webhook d'un ticket",
    description="Le corps par défaut des webhooks GLPI 11 sur les tickets (`event` et l'objet `item` de l'API), signé par "
    "`X-GLPI-signature` (HMAC-SHA256 du corps suivi de `X-GLPI-timestamp`, avec ESCALADE_GLPI_WEBHOOK_SECRET) ; une "
    "livraison répétée par GLPI est appliquée une seule fois. L'identifiant du ticket est le numéro de requête ; "
    "l'incident est amené à l'état du ticket (en cours, en attente, résolu ou clos, rouvert).",
)
def glpi_hook(request: HttpRequest) -> Reply:
    return _snapshot_hook(request, GLPI, glpi_settings())


@router.post(
    "/hooks/itop",
    auth=None,
    response={202: SnapshotHookOut, 404: ProblemOut},
    summary="iTop : action webhook sur un incident",
    description="Le modèle de charge utile publié dans docs/helpdesks.md (`ref`, `status`, `priority`, `org_name`, "
    "`start_date`, `last_update`…), avec `Authorization: Bearer <ESCALADE_ITOP_WEBHOOK_TOKEN>` ; un même corps reçu "
    "deux fois est appliqué une seule fois. La référence (I-000123) est le numéro de requête.",
)
def itop_hook(request: HttpRequest) -> Reply:
    return _snapshot_hook(request, ITop, itop_settings())


def _snapshot_hook(request: HttpRequest, kind: type[snapshot.WebhookConnector], found: Any) -> Reply:
    """A helpdesk that sends the ticket as it is: configured (`found`: its settings), authenticated and
    read by its connector, then brought into the incident once per delivery."""
    if found is None:
        raise ServiceError("hook_not_configured", f"Aucun webhook {kind.product} n'est configuré ici.", status=404)
    connector = kind(found)
    if not connector.verified(request.body, request.headers):
        raise ServiceError("hook_unauthorized", f"{connector.credential} : rien n'est appliqué.",
                           status=401)
    ticket = connector.snapshot(_json(request))
    if ticket is None:  # an event about something else (a comment, a deleted ticket): nothing to apply
        return Reply(202, {"request_number": "", "applied": 0})
    delivery = connector.delivery_key(request.headers, request.body)
    applied = snapshot.apply_snapshot(connector.name, delivery[:150], ticket, timezone.now())
    return Reply(202, {"request_number": ticket.request_number, "applied": applied})
