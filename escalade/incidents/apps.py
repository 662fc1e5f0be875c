from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "escalade.incidents"
    label = "incidents"
