"""``manage.py generate_invoices ORG_SLUG --period YYYY-MM|YYYY-MM-DD``."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing_site.errors import DomainError
from invoices import periods, services
from metering.models import Organization


class Command(BaseCommand):
    help = (
        "Create or refresh the draft invoices of a closed period (the same service "
        "the periodic task runs); finalized invoices are left as issued."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="organization slug")
        parser.add_argument(
            "--period",
            required=True,
            help="YYYY-MM for monthly invoices, YYYY-MM-DD for daily ones",
        )

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        try:
            period = periods.period_parse(options["period"])
            result = services.invoices_generate(
                organization=organization, period=period, now=timezone.now()
            )
        except DomainError as error:
            raise CommandError(f"{error.field}: {error.message}") from None
        self.stdout.write(
            f"{period}: {result.created} created, {result.refreshed} refreshed, "
            f"{result.already_issued} already issued, "
            f"{len(result.upgrade_offers)} upgrade offer(s)."
        )
