"""The pages' language switch, which the account also remembers (for answers by e-mail)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import i18n
from django.views.decorators.http import require_POST

from escalade.accounts.services import set_language as remember_language


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    response = i18n.set_language(request)
    if request.user.is_authenticated:
        remember_language(request.user, request.POST.get("language", ""))  # type: ignore[arg-type]
    return response
