from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metering.models import Organization
from profiling import msnbc
from profiling.services import msnbc_store

DEFAULT_PATH = Path(settings.SHARED_DATA_DIR) / msnbc.ARCHIVE


class Command(BaseCommand):
    help = (
        "Load msnbc.com clickstream sessions as usage events of a benchmark "
        "organization (one customer per user), and/or print the msnbc evaluation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(DEFAULT_PATH))
        parser.add_argument("--organization", default="msnbc-bench")
        parser.add_argument(
            "--limit", type=int, default=10_000, help="users to load (0 = all)"
        )
        parser.add_argument(
            "--evaluate",
            action="store_true",
            help="print top-1/top-3 on the arrays (whole file unless --limit)",
        )
        parser.add_argument("--no-load", action="store_true")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"No file at {path}")
        limit = options["limit"] or None
        clickstream = msnbc.load(path, limit=limit)
        self.stdout.write(
            f"{clickstream.sequences.count} users, "
            f"{len(clickstream.sequences.tokens)} page views"
        )
        if not options["no_load"]:
            organization, _ = Organization.objects.get_or_create(
                slug=options["organization"],
                defaults={"name": "msnbc.com clickstream (benchmark)"},
            )
            stored = msnbc_store(
                organization=organization, clickstream=clickstream, now=timezone.now()
            )
            self.stdout.write(f"{stored} events stored in {organization.slug!r}")
        if options["evaluate"]:
            for variant, scores in msnbc.evaluate(clickstream).items():
                self.stdout.write(f"{variant}:")
                for score in scores:
                    self.stdout.write(
                        f"  {score.name:<24} top-1 {score.top1:.3f}  "
                        f"top-3 {score.top3:.3f}"
                    )
