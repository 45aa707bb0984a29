from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metering.models import Organization
from profiling import planted
from profiling.services import profiling_evaluate


class Command(BaseCommand):
    help = (
        "Held-out quality of the profiler: train on each customer's first 80% of "
        "events in time, report next-operation top-1/top-3 on the last 20%. With "
        "--planted, score it on the planted-truth scenarios instead (no database)."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", nargs="?", help="organization slug")
        parser.add_argument("--window-days", type=int, default=90)
        parser.add_argument(
            "--planted",
            action="store_true",
            help="the four planted-truth scenarios: segments (ARI), next operation "
            "against the true chains, next week's usage",
        )
        parser.add_argument("--customers", type=int, default=400)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        if options["planted"]:
            if options["customers"] < 10:
                raise CommandError("--customers must be at least 10")
            scores = planted.score_all(
                customers=options["customers"], seed=options["seed"]
            )
            for line in planted.table(scores):
                self.stdout.write(line)
            return
        if not options["organization"]:
            raise CommandError("Name an organization, or use --planted")
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}")
        result = profiling_evaluate(
            organization=organization,
            now=timezone.now(),
            window_days=options["window_days"],
        )
        self.stdout.write(f"{result.transitions} held-out transitions")
        self.stdout.write(f"{'model':<16} {'top-1':>7} {'top-3':>7}")
        for name, hits in result.accuracy.items():
            self.stdout.write(f"{name:<16} {hits[1]:7.3f} {hits[3]:7.3f}")
        self.stdout.write(f"k = {result.k}, silhouette = {result.silhouette}")
        ari = (
            "unknown (no planted labels)"
            if result.adjusted_rand is None
            else (f"{result.adjusted_rand:.3f}")
        )
        self.stdout.write(f"adjusted Rand index vs planted segments: {ari}")
