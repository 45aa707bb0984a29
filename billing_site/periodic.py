"""Periodic work as data: each app declares its beat entries, one command upserts them.

An app lists its entries in ``<app>/schedules.py`` as ``def periodic_tasks() ->
list[PeriodicTaskSpec]`` (a function, because some entries are per organization).
``manage.py setup_periodic_tasks`` finds every installed app's list through the app
registry and upserts the entries by name into django-celery-beat's tables.

Admins edit schedules in the admin: an existing entry keeps its timing and enabled
flag; only the task path and arguments are corrected. Nothing is ever deleted.
"""

import importlib
import importlib.util
import json
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class PeriodicTaskSpec:
    name: str  # unique; the key of the upsert
    task: str  # the registered Celery task name
    # Either cron fields (minute, hour, day_of_week, day_of_month, month_of_year)...
    crontab: dict[str, str] = field(default_factory=dict)
    # ...or a fixed interval in hours.
    every_hours: int | None = None
    args: tuple = ()
    description: str = ""  # why this timing, shown in the admin


def _schedule_fields(spec: PeriodicTaskSpec) -> dict:
    if spec.every_hours is not None:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=spec.every_hours, period=IntervalSchedule.HOURS
        )
        return {"interval": interval, "crontab": None}
    cron = {
        "minute": "*",
        "hour": "*",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        **spec.crontab,
    }
    crontab, _ = CrontabSchedule.objects.get_or_create(**cron, timezone="UTC")
    return {"crontab": crontab, "interval": None}


@transaction.atomic
def periodic_tasks_upsert(specs: list[PeriodicTaskSpec]) -> list[tuple[str, str]]:
    """Create missing entries, correct task and arguments of existing ones.

    Returns ``(name, "created" | "updated" | "kept")`` per spec, in order.
    """
    outcomes = []
    for spec in specs:
        args = json.dumps(list(spec.args))
        existing = (
            PeriodicTask.objects.select_for_update().filter(name=spec.name).first()
        )
        if existing is None:
            PeriodicTask.objects.create(
                name=spec.name,
                task=spec.task,
                args=args,
                description=spec.description,
                **_schedule_fields(spec),
            )
            outcomes.append((spec.name, "created"))
        elif (existing.task, existing.args) != (spec.task, args):
            existing.task, existing.args = spec.task, args
            existing.save(update_fields=["task", "args"])
            outcomes.append((spec.name, "updated"))
        else:
            outcomes.append((spec.name, "kept"))
    return outcomes


def declared_periodic_tasks() -> list[PeriodicTaskSpec]:
    """Every installed app's entries, from ``<app>/schedules.py``, in app order."""
    specs = []
    for config in apps.get_app_configs():
        module_name = f"{config.name}.schedules"
        if importlib.util.find_spec(module_name) is None:
            continue
        specs.extend(importlib.import_module(module_name).periodic_tasks())
    return specs
