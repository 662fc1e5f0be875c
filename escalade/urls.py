from django.contrib import admin
from django.urls import include, path

from escalade.web import health

admin.site.site_header = "Escalade — administration"
admin.site.site_title = "Escalade"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("escalade.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("", include("escalade.web.urls")),
]
