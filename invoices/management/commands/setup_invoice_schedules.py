"""``manage.py setup_invoice_schedules``: upsert the invoicing beat schedules."""

from django.core.management.base import BaseCommand

from invoices import services


class Command(BaseCommand):
    help = "Create or update the invoicing periodic tasks by name (never deletes)."

    def handle(self, *args, **options):
        for name in services.periodic_tasks_upsert():
            self.stdout.write(f"schedule {name!r} is up to date")
