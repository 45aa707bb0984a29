from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for a first run; depends on every domain app, none depends on it."""

    name = "demo"
