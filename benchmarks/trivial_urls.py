"""`/trivial`: a JSON answer that reads nothing, beside every URL of the service."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("trivial", trivial), path("", include("escalade.urls"))]
