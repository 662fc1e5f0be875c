"""/api/v1/policy: the procedure in force, as data."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from escalade.api.schemas import PolicyOut
from escalade.api.serializers import policy_json
from escalade.policies import active_policy

router = Router(tags=["policy"])


@router.get(
    "/policy",
    response={200: PolicyOut},
    summary="La procédure en vigueur",
    description="Priorités, délais en minutes, horloges, seuils d'escalade, filières, contacts et "
    "calendriers ouvrés de la politique active.",
)
def get_policy(request: HttpRequest) -> dict[str, Any]:
    return policy_json(active_policy())
