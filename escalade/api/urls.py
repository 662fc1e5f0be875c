from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from escalade.api.api import api
from escalade.api.problems import not_found, problem


def _problem_405(view: Callable[..., Any]) -> Callable[..., Any]:
    """Ninja answers a wrong method with a plain-text 405; ours is a problem too."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = problem(405, "method_not_allowed",
                               f"Méthode {request.method} non autorisée ici (autorisées : {allowed}).")
            response["Allow"] = allowed
        return response

    return wrapped


_patterns, _app, _namespace = api.urls
for pattern in _patterns:
    pattern.callback = _problem_405(pattern.callback)

urlpatterns = [
    path("", (_patterns, _app, _namespace)),
    # Anything else under /api/v1/ is a problem+json 404, never an HTML page.
    # Exempt from CSRF: a POST there is no write, and must not get the HTML CSRF page.
    re_path(r"^.*$", csrf_exempt(not_found), name="not-found"),
]
