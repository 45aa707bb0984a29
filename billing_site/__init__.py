"""Project package: settings, URLs, the Celery app and domain-free helpers."""

from billing_site.celery import app as celery_app

__all__ = ["celery_app"]
