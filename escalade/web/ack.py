"""The signed one-click acknowledgement link from an escalation email.

GET shows what will be acknowledged (mail scanners follow links: a GET must change nothing);
POST acknowledges, as the system acting for the recipient the link was signed for.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from escalade.accounts.models import Role, User
from escalade.errors import ServiceError
from escalade.escalations.models import Escalation
from escalade.escalations.services import acknowledge_escalation
from escalade.incidents.evaluation import evaluation_now
from escalade.incidents.models import Channel
from escalade.notifications.tokens import AckToken, read_ack_token
from escalade.web import present

TEMPLATE = "web/ack.html"


def _page(request: HttpRequest, status: int = 200, **context: object) -> HttpResponse:
    return render(request, TEMPLATE, context, status=status)


def _staff_member(token: AckToken) -> User | None:
    """The staff account with the link's address, if any: then the acknowledgement is theirs."""
    if not token.recipient:
        return None
    return User.objects.filter(
        email__iexact=token.recipient, role__in=(Role.STAFF, Role.ADMIN), is_active=True
    ).first()


@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    try:
        signed = read_ack_token(token)
    except signing.SignatureExpired:
        return _page(request, 410, error=_("Ce lien a expiré. Prenez l'escalade en compte depuis Escalade."))
    except signing.BadSignature:
        return _page(request, 404, error=_("Ce lien n'est pas valide."))
    escalation = Escalation.objects.select_related("incident__customer").filter(pk=signed.escalation_id).first()
    if escalation is None:
        return _page(request, 404, error=_("Cette escalade n'existe plus."))
    if request.method == "POST":
        member = _staff_member(signed)
        # Recorded in the recipient's name: the link was signed for them.
        on_behalf_of = "" if member else f"{signed.recipient_name} <{signed.recipient}>"
        try:
            escalation, _changed = acknowledge_escalation(
                user=member, escalation_id=escalation.pk, now=timezone.now(), channel=Channel.EMAIL,
                on_behalf_of=on_behalf_of,
            )
        except ServiceError as exc:
            return _page(request, exc.status, error=exc.detail)
    # What is being acknowledged, before and after: the incident, the ask, the clocks.
    incident, now = escalation.incident, timezone.now()
    return _page(request, escalation=escalation, token=signed, acknowledged_label=escalation.acknowledged_label,
                 incident=incident, card=present.card(incident.policy, incident, evaluation_now(incident, now)),
                 now=now)
