from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "escalade.web"
    label = "web"
