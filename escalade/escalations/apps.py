from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalade.escalations"
    label = "escalations"
