from django.core.management.base import BaseCommand

from profiling.services import profiling_schedule_upsert


class Command(BaseCommand):
    help = "Create or correct the nightly profiling schedule (django-celery-beat)."

    def handle(self, *args, **options):
        task, created = profiling_schedule_upsert()
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} periodic task {task.name!r} ({task.crontab}).")
