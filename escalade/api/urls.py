from django.urls import path, re_path

from escalade.api.api import api
from escalade.api.problems import not_found

urlpatterns = [
    path("", api.urls),
    # Anything else under /api/v1/ is a problem+json 404, never an HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]
