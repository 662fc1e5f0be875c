"""The signed link sent to a user whose e-mail could not be verified (no DMARC pass): GET shows the
request (mail scanners follow links: a GET changes nothing), POST decides it as the user's own."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from escalade.errors import ServiceError
from escalade.mail.services import awaiting, confirm

TEMPLATE = "web/mail_confirm.html"


@require_http_methods(["GET", "POST"])
def confirm_request(request: HttpRequest, token: str) -> HttpResponse:
    try:
        inbound = confirm(token, timezone.now()) if request.method == "POST" else awaiting(token)
    except ServiceError as exc:
        return render(request, TEMPLATE, {"error": exc.detail}, status=exc.status)
    return render(request, TEMPLATE, {"inbound": inbound})
