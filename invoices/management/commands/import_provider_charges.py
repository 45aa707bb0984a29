"""``manage.py import_provider_charges ORG_SLUG FILE.csv``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing_site.errors import DomainError
from invoices import services
from metering.models import Organization


class Command(BaseCommand):
    help = (
        "Import provider network charges from CSV: customer_id (external id), "
        "provider, period (YYYY-MM), amount[, description, external_ref]. "
        "All rows or none; rows already recorded (same provider and external_ref) "
        "are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="organization slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        try:
            text = options["file"].read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(str(error)) from None
        try:
            result = services.provider_charges_import(
                organization=organization, text=text
            )
        except DomainError as error:
            raise CommandError(f"{error.field}: {error.message}") from None
        if result.errors:
            raise CommandError("Nothing imported.\n" + "\n".join(result.errors))
        self.stdout.write(
            f"{result.created} charge(s) imported, {result.skipped} already recorded."
        )
