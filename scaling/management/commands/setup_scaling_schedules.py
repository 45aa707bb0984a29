from django.core.management.base import BaseCommand

from metering.models import Organization
from scaling.services.schedules import periodic_tasks_setup


class Command(BaseCommand):
    help = "Create or update the 6-hourly forecast and adjustment schedules by name."

    def handle(self, *args, **options):
        tasks = periodic_tasks_setup(organizations=list(Organization.objects.all()))
        self.stdout.write(self.style.SUCCESS(f"{len(tasks)} schedules up to date."))
