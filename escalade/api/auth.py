"""Who is calling: a bearer API token, or a Django session (with its CSRF check on writes)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from escalade.accounts.models import ApiToken
from escalade.accounts.throttle import client_address, counter_key, refuse_if_over, spend
from escalade.api import clock
from escalade.errors import ServiceError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
REFUSED = gettext_lazy("Trop de jetons d'API refusés depuis votre adresse.")
FAILURES = "token_failures_per_address"


class BearerToken(HttpBearer):
    """`Authorization: Bearer esc_…`; only the token's hash is stored."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        address, now = client_address(request), clock.now()
        # An address that keeps presenting wrong tokens is refused for a while, right tokens too.
        # The counter is read with the token, in one query; a wrong token counts (and is refused
        # once over the limit).
        found = ApiToken.find(token.strip(), failures_key=counter_key(FAILURES, address, now)) \
            if token and len(token) <= 200 else None
        if found is None:
            spend(FAILURES, address, now, REFUSED)
            return None
        refuse_if_over(FAILURES, found.failures, now, REFUSED)  # type: ignore[attr-defined]
        return found.user


class Session(APIKeyCookie):
    """The web pages' session. Writes need the CSRF token; anonymous callers get a 401, not a 403."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise ServiceError(
                "csrf_failed",
                _("Vérification CSRF échouée : une écriture avec une session demande l'en-tête "
                  "X-CSRFToken (ou utilisez un jeton d'API)."),
                status=403,
            )
        return user


bearer = BearerToken()
session = Session()
