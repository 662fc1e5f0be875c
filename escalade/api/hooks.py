"""/api/v1/hooks/rt: Request Tracker calls it (a scrip, on each ticket change) so that the change is
applied at once; the poll repairs whatever a lost call dropped, and a change seen by both is applied
once (by its transaction id)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router
from ninja import Status as Reply

from escalade.api.schemas import InputSchema, Output, ProblemOut
from escalade.errors import ServiceError
from escalade.sync import services
from escalade.sync.conf import request_tracker

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
