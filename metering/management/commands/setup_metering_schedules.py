import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask

# name -> (task, crontab fields)
SCHEDULES = {
    "metering: ensure usage partitions": (
        "metering.ensure_usage_partitions",
        # 01:15 UTC every day: partitions exist three months ahead, so a few missed
        # runs never leave a month to the DEFAULT partition.
        {"minute": "15", "hour": "1"},
    ),
}


class Command(BaseCommand):
    help = "Create the beat schedules of the metering app (editable in admin)."

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
