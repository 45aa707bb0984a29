"""``manage.py generate_invoices ORG_SLUG --period YYYY-MM|YYYY-MM-DD [--parts N]``."""

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
        parser.add_argument(
            "--parts",
            type=int,
            default=1,
            help="split the customers into this many Celery tasks (default: run "
            "here, in one process)",
        )

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        if options["parts"] < 1:
            raise CommandError("parts: give 1 or more.")
        try:
            period = periods.period_parse(options["period"])
            if options["parts"] > 1:
                group = services.invoices_generate_fanout(
                    organization=organization,
                    period=period,
                    now=timezone.now(),
                    parts=options["parts"],
                )
                self.stdout.write(
                    f"{period}: {len(group)} part(s) sent to the workers."
                )
                return
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
