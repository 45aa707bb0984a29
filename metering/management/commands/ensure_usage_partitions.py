from django.core.management.base import BaseCommand
from django.utils import timezone

from metering.services import usage_partitions_ensure


class Command(BaseCommand):
    help = (
        "Create the usage event table's monthly partitions ahead of time and move "
        "any month found in the DEFAULT partition into its own partition."
    )

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=3)

    def handle(self, *args, months_ahead: int, **options):
        created = usage_partitions_ensure(now=timezone.now(), months_ahead=months_ahead)
        self.stdout.write(
            "Created " + ", ".join(created) if created else "All partitions exist."
        )
