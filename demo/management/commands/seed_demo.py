import importlib
import os

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

# Each app's demo data lives in ``demo/seed_<app>.py`` with a ``seed(*, context,
# progress)`` function; they run in dependency order and each one is idempotent.
# ``context`` carries what earlier steps made (the organization, the customers).
SEED_ORDER = ["metering", "pricing", "profiling", "bundles", "invoices", "scaling"]


def seeders() -> list:
    found = []
    for app in SEED_ORDER:
        try:
            module = importlib.import_module(f"demo.seed_{app}")
        except ModuleNotFoundError as error:
            if error.name != f"demo.seed_{app}":
                raise
            continue
        found.append(module.seed)
    return found


class Command(BaseCommand):
    help = "Create (or refresh) the demo organization, logins and realistic activity."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "demo-admin-2026")
        context = {"password": password}

        def progress(iterable, desc: str, total: int | None = None):
            return tqdm(iterable, desc=desc, total=total, unit="row", leave=False)

        for seeder in tqdm(seeders(), desc="demo data", unit="step"):
            with transaction.atomic():
                seeder(context=context, progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready. Admin login: user 'admin', password '{password}' "
                "(/admin/); customer portal login: user 'customer', same password "
                "(/portal/)."
            )
        )
