from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from metering.models import Organization
from scaling.services.forecasts import forecast_organization


class Command(BaseCommand):
    help = "Forecast every resource series of an organization (the beat task's code)."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="organization slug")
        parser.add_argument(
            "--horizon",
            type=int,
            default=None,
            help="steps of each series' own frequency (default 48 hours or 30 days)",
        )
        parser.add_argument("--chunk-size", type=int, default=50)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        if options["horizon"] is not None and options["horizon"] < 1:
            raise CommandError("--horizon must be at least 1.")

        def progress(chunks):
            return tqdm(chunks, desc="forecast chunks", unit="chunk")

        count = forecast_organization(
            organization=organization,
            horizon=options["horizon"],
            now=timezone.now(),
            chunk_size=options["chunk_size"],
            progress=progress,
        )
        self.stdout.write(self.style.SUCCESS(f"Forecast {count} series."))
