from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from billing_site.errors import DomainError
from metering.models import Organization
from profiling.services import profiling_run_execute


class Command(BaseCommand):
    help = "Profile one organization now, synchronously (the nightly task's code path)."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="organization slug")
        parser.add_argument("--window-days", type=int, default=90)
        parser.add_argument("--chunk-size", type=int, default=2_000)
        parser.add_argument("--k-min", type=int, default=2)
        parser.add_argument("--k-max", type=int, default=10)
        parser.add_argument(
            "--algorithm",
            choices=["auto", "kmeans", "dbscan"],
            default="auto",
            help="auto (default): whichever of K-Means and DBSCAN has the higher "
            "mean silhouette",
        )

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}")

        def progress(items):
            return tqdm(items, desc="extracting chunks", unit="chunk")

        try:
            run = profiling_run_execute(
                organization=organization,
                now=timezone.now(),
                progress=progress,
                window_days=options["window_days"],
                chunk_size=options["chunk_size"],
                k_min=options["k_min"],
                k_max=options["k_max"],
                algorithm=options["algorithm"],
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Run {run.pk}: {run.customer_count} customers, {run.event_count} events, "
            f"k={run.scores.get('k')}, silhouette={run.scores.get('silhouette')}"
        )
        for stage, seconds in run.timings.items():
            self.stdout.write(f"  {stage:<10} {seconds:8.3f} s")
