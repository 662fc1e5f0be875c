"""/api/v1/policy: the procedure in force, as data."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from escalade.api.schemas import PolicyOut
from escalade.api.serializers import policy_json
from escalade.policies import store

router = Router(tags=["policy"])


@router.get(
    "/policy",
    response={200: PolicyOut},
    summary="La procédure en vigueur",
    description="Priorités, délais en minutes, horloges, seuils d'escalade, filières, contacts et "
    "calendriers ouvrés de la dernière version de la politique : celle du contrat de l'appelant "
    "quand c'est un client, sinon la politique par défaut.",
)
def get_policy(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "auth", None) or request.user
    customer = getattr(user, "customer", None)
    info = store.latest(customer.policy_name if customer is not None else None)
    return policy_json(store.parsed(info), info)
