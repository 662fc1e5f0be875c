from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The `escalade` commands that drive the service (serve, worker, demo, check, import, …)."""

    name = "escalade.ops"
    label = "ops"
