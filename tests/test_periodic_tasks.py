"""One command upserts every app's beat schedule, by name, keeping admin edits."""

from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from billing_site.celery import app as celery_app
from billing_site.periodic import declared_periodic_tasks

pytestmark = pytest.mark.django_db


def _setup() -> list[str]:
    out = StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    return out.getvalue().splitlines()


def test_every_declared_entry_names_a_registered_task():
    celery_app.loader.import_default_modules()
    specs = declared_periodic_tasks()
    assert specs, "no app declares periodic work"
    assert len({spec.name for spec in specs}) == len(specs)
    unknown = [spec.task for spec in specs if spec.task not in celery_app.tasks]
    assert unknown == []


def test_setup_creates_then_keeps(organization):
    specs = declared_periodic_tasks()
    first = _setup()
    assert first == [f"created: {spec.name}" for spec in specs]
    assert _setup() == [f"kept: {spec.name}" for spec in specs]
    assert sorted(PeriodicTask.objects.values_list("name", "task")) == sorted(
        (spec.name, spec.task) for spec in specs
    )


def test_admin_edited_timing_is_kept_and_a_wrong_task_corrected():
    _setup()
    entry = PeriodicTask.objects.get(name="bundles: expire bundles")
    hourly, _ = CrontabSchedule.objects.get_or_create(minute="0", timezone="UTC")
    entry.crontab = hourly
    entry.enabled = False
    entry.task = "bundles.tasks.renamed_elsewhere"
    entry.save()

    assert "updated: bundles: expire bundles" in _setup()

    entry.refresh_from_db()
    assert entry.task == "bundles.tasks.expire_bundles"
    assert (entry.crontab_id, entry.enabled) == (hourly.pk, False)


def test_nightly_profiling_runs_before_bundle_creation():
    _setup()
    profiling = PeriodicTask.objects.get(name="profiling: nightly run per organization")
    bundles = PeriodicTask.objects.get(name="bundles: create personalised bundles")
    assert (profiling.crontab.hour, profiling.crontab.minute) == ("2", "30")
    assert (bundles.crontab.hour, bundles.crontab.minute) == ("3", "30")
