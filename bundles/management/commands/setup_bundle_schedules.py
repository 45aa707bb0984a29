import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask

# name -> (task, crontab fields, why)
SCHEDULES = {
    "bundles: create personalised bundles": (
        "bundles.tasks.create_personalized_bundles_all",
        # 03:30 UTC every day, after the nightly profiling run.
        {"minute": "30", "hour": "3"},
    ),
    "bundles: expire bundles": (
        "bundles.tasks.expire_bundles",
        # Every five minutes, so session bundles end close to their validity.
        {"minute": "*/5"},
    ),
}


class Command(BaseCommand):
    help = "Create or update the beat schedules of the bundles app (editable in admin)."

    def handle(self, *args, **options):
        for name, (task, cron) in SCHEDULES.items():
            schedule, _ = CrontabSchedule.objects.get_or_create(
                minute=cron.get("minute", "*"),
                hour=cron.get("hour", "*"),
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
            _, created = PeriodicTask.objects.get_or_create(
                name=name,
                defaults={"task": task, "crontab": schedule, "args": json.dumps([])},
            )
            self.stdout.write(f"{'created' if created else 'kept'}: {name}")
