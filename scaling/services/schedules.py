"""Periodic scaling work, upserted by name into django-celery-beat."""

import json

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from metering.models import Organization

# Forecasts (and then the dynamic adjustment) refresh every 6 hours per organization.
FORECAST_EVERY_HOURS = 6


def periodic_tasks_setup(*, organizations: list[Organization]) -> list[PeriodicTask]:
    """Create or update, by name, two schedules per organization; nothing is deleted."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=FORECAST_EVERY_HOURS, period=IntervalSchedule.HOURS
    )
    tasks = []
    for organization in organizations:
        for name, task in (
            (f"scaling: forecast {organization.slug}", "scaling.forecast_organization"),
            (f"scaling: adjust {organization.slug}", "scaling.adjust_organization"),
        ):
            periodic, _ = PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": task,
                    "interval": every,
                    "crontab": None,
                    "args": json.dumps([organization.pk]),
                    "enabled": True,
                },
            )
            tasks.append(periodic)
    return tasks
