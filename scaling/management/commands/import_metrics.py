import csv

from django.core.management.base import BaseCommand, CommandError
from rest_framework import serializers

from billing_site.errors import DomainError
from metering.models import Organization
from scaling.services.metrics import MetricPoint, metric_batch_ingest

BATCH = 5_000


class ItemSerializer(serializers.Serializer):
    account_id = serializers.CharField(max_length=128)
    resource = serializers.RegexField(r"^[a-z][a-z0-9_]{0,63}$")
    timestamp = serializers.DateTimeField()
    value = serializers.FloatField(min_value=0)


class Command(BaseCommand):
    help = (
        "Import resource metrics from a CSV file with the columns account_id, "
        "resource, timestamp (ISO 8601) and value; already stored points are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="organization slug")
        parser.add_argument("path")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        created = duplicates = replaced = 0
        batch: list[MetricPoint] = []
        first_line = 2

        def flush():
            nonlocal created, duplicates, replaced, batch
            if not batch:
                return
            try:
                result = metric_batch_ingest(
                    organization=organization, points=batch, field_prefix="line"
                )
            except DomainError as error:
                index = int(error.field.split("[")[1].split("]")[0])
                message = f"line {first_line + index}: {error.message}"
                raise CommandError(message) from error
            created += result.created
            duplicates += result.duplicates
            replaced += result.replaced
            batch = []

        with open(options["path"], newline="") as handle:
            reader = csv.DictReader(handle)
            for line, row in enumerate(reader, start=2):
                item = ItemSerializer(data=row)
                if not item.is_valid():
                    problems = "; ".join(
                        f"{name}: {' '.join(str(m) for m in messages)}"
                        for name, messages in item.errors.items()
                    )
                    raise CommandError(f"line {line}: {problems}")
                if not batch:
                    first_line = line
                fields = dict(item.validated_data)
                customer_id = fields.pop("account_id")
                batch.append(MetricPoint(customer_id=customer_id, **fields))
                if len(batch) >= BATCH:
                    flush()
            flush()
        self.stdout.write(
            self.style.SUCCESS(
                f"{created} points stored, {replaced} derived points replaced, "
                f"{duplicates} already there."
            )
        )
