from django.core.management.base import BaseCommand, CommandError

from metering.models import Organization
from metering.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organization and print it once."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("--name", default="", help="A label shown in the admin.")

    def handle(self, *args, org_slug, name, **options):
        organization = Organization.objects.filter(slug=org_slug).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        issued = api_key_create(organization=organization, name=name)
        self.stderr.write(
            f"API key {issued.api_key.prefix}… for {organization.slug}; "
            "it is shown only this once:"
        )
        self.stdout.write(issued.raw_key)
