from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Escalade — administration"
admin.site.site_title = "Escalade"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("escalade.api.urls")),
    path("", include("escalade.web.urls")),
]
