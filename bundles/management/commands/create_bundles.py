from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from bundles import services
from metering.models import Organization


class Command(BaseCommand):
    help = (
        "Offer personalised bundles to an organization's profiled customers "
        "(the same code as the periodic task; reruns in one period add nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", metavar="ORG_SLUG")

    def handle(self, *args, organization, **options):
        found = Organization.objects.filter(slug=organization).first()
        if found is None:
            raise CommandError(f"No organization with slug {organization!r}.")

        def progress(iterable, desc: str = "", total: int | None = None):
            return tqdm(iterable, desc=desc, total=total, unit="customer")

        summary = services.personalized_bundles_create(
            organization=found, now=timezone.now(), progress=progress
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.offered} offered, {summary.already_offered} already "
                f"offered this period, {summary.not_worth_offering} without a "
                f"worthwhile bundle, {summary.superseded} older offers replaced "
                f"({summary.customers} profiled customers)."
            )
        )
