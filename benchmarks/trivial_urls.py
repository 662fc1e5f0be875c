"""`/trivial`: a JSON answer that reads nothing, beside every URL of the service.

Three floors for the API's rows (bench_api.py), served the same way: `/trivial/api/`, the API's
own fixed cost (django-ninja and the bearer token's authentication, one query, nothing else read);
`/trivial/api/incidents/{n}`, that plus the visible incident read as the detail reads it; and
`/trivial/api/incidents`, that plus the list's first page read as the list reads it (its count, its
50 incidents and their pauses). None evaluates or serialises anything: what an endpoint costs beyond
them is its own work.
"""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from ninja import NinjaAPI

from escalade.api.auth import bearer
from escalade.incidents.services import get_visible_incident, visible_incidents_page


def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


floor = NinjaAPI(urls_namespace="trivial-api", auth=[bearer], docs_url=None, openapi_url=None)


@floor.get("")
def authenticated(request: HttpRequest) -> dict[str, Any]:
    return {"ok": True}


@floor.get("/incidents/{request_number}")
def incident_read(request: HttpRequest, request_number: str) -> dict[str, Any]:
    incident = get_visible_incident(request.auth, request_number)  # type: ignore[attr-defined]
    return {"request_number": incident.request_number}


@floor.get("/incidents")
def page_read(request: HttpRequest) -> dict[str, Any]:
    page, count, _ = visible_incidents_page(request.auth, {}, 0, 50)  # type: ignore[attr-defined]
    return {"count": count, "request_numbers": [incident.request_number for incident in page]}


urlpatterns = [path("trivial", trivial), path("trivial/api/", floor.urls), path("", include("escalade.urls"))]
