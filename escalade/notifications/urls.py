from django.urls import path

from escalade.notifications import views

app_name = "notifications"

urlpatterns = [
    path("<str:token>/", views.acknowledge, name="ack"),
]
