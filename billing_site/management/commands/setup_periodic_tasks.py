from django.core.management.base import BaseCommand

from billing_site.periodic import declared_periodic_tasks, periodic_tasks_upsert


class Command(BaseCommand):
    help = (
        "Create or correct, by name, the beat schedules every app declares "
        "(timings edited in the admin are kept; nothing is deleted)."
    )

    def handle(self, *args, **options):
        for name, outcome in periodic_tasks_upsert(declared_periodic_tasks()):
            self.stdout.write(f"{outcome}: {name}")
