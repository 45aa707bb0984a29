"""Demo tenancy and usage: the organization, the admin login, customers, a portal
login, the operation catalogue and the last 30 days of usage events."""

import random
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from faker import Faker

from metering.models import Customer, Operation, Organization, PortalUser
from metering.services import portal_user_create, usage_events_ingest

DEMO_SLUG = "demo"
CUSTOMER_COUNT = 300
USAGE_DAYS = 30
EVENTS_PER_DAY = 400

# code -> (name, unit, activity type, relative frequency, typical quantity)
OPERATIONS = {
    "image.resize": ("Resize image", "image", "image processing", 30, 1),
    "image.convert": ("Convert image format", "image", "image processing", 12, 1),
    "image.thumbnail": ("Generate thumbnails", "image", "image processing", 10, 4),
    "video.encode": ("Encode video", "minute", "video processing", 6, 12),
    "video.thumbnail": ("Extract video poster", "video", "video processing", 4, 1),
    "pdf.render": ("Render PDF", "page", "documents", 8, 6),
    "pdf.merge": ("Merge PDFs", "document", "documents", 3, 2),
    "ocr.extract": ("Extract text (OCR)", "page", "documents", 5, 3),
    "storage.upload": ("Upload to storage", "GB", "storage", 9, 1),
    "storage.download": ("Download from storage", "GB", "storage", 7, 1),
    "api.search": ("Search assets", "call", "", 14, 1),
    "ai.tag": ("Auto-tag assets", "asset", "ai", 5, 2),
}


def seed(*, context: dict, progress) -> None:
    organization, _ = Organization.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={"name": "Acme Cloud (demo)", "currency": "USD", "timezone": "UTC"},
    )
    context["organization"] = organization

    user_model = get_user_model()
    admin, _ = user_model.objects.get_or_create(
        username="admin", defaults={"email": "admin@example.com"}
    )
    admin.is_staff = admin.is_superuser = True
    admin.set_password(context["password"])
    admin.save()

    fake = Faker()
    fake.seed_instance(20261121)
    rng = random.Random(20261121)
    existing = set(
        Customer.objects.filter(organization=organization).values_list(
            "external_id", flat=True
        )
    )
    new_customers = []
    for number in progress(range(1, CUSTOMER_COUNT + 1), desc="customers"):
        external_id = f"cus_{number:04d}"
        company = fake.company()
        if external_id in existing:
            continue
        new_customers.append(
            Customer(
                organization=organization,
                external_id=external_id,
                name=company,
                email=f"billing@{fake.domain_name()}",
                metadata={
                    "plan_hint": rng.choice(["startup", "growth", "enterprise"]),
                    "region": rng.choice(["eu-west", "us-east", "ap-south"]),
                },
            )
        )
    Customer.objects.bulk_create(new_customers, batch_size=500)
    context["customers"] = list(
        Customer.objects.filter(organization=organization).order_by("external_id")
    )

    first = context["customers"][0]
    portal = PortalUser.objects.filter(user__username="customer").first()
    if portal is None:
        portal_user_create(
            customer=first, username="customer", password=context["password"]
        )
    else:
        portal.user.set_password(context["password"])
        portal.user.save()

    _seed_usage(context=context, progress=progress)


def _seed_usage(*, context: dict, progress) -> None:
    """The operation catalogue and about 400 events a day over the last 30 days.

    Event ids and times derive from the day, so re-running on the same day only
    reports duplicates and a later run adds the days (and minutes) since.
    """
    organization = context["organization"]
    for code, (name, unit, activity, _, _) in OPERATIONS.items():
        Operation.objects.update_or_create(
            organization=organization,
            code=code,
            defaults={"name": name, "unit": unit, "activity_type": activity},
        )
    customers = context["customers"]
    weights_rng = random.Random(20261122)
    # A few heavy customers, a long tail of light ones.
    customer_weights = [weights_rng.paretovariate(1.2) for _ in customers]
    codes = list(OPERATIONS)
    code_weights = [OPERATIONS[code][3] for code in codes]
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for days_ago in progress(
        range(USAGE_DAYS, -1, -1), desc="usage events", total=USAGE_DAYS + 1
    ):
        day = today - timedelta(days=days_ago)
        rng = random.Random(day.date().isoformat())
        events = []
        for number in range(EVENTS_PER_DAY):
            occurred = day + timedelta(seconds=rng.randrange(86_400))
            customer = rng.choices(customers, customer_weights)[0]
            code = rng.choices(codes, code_weights)[0]
            typical = OPERATIONS[code][4]
            if occurred > now:
                continue
            events.append(
                {
                    "event_id": f"demo-{day:%Y%m%d}-{number:04d}",
                    "customer_id": customer.external_id,
                    "operation": code,
                    "quantity": str(max(1, round(rng.expovariate(1 / typical)))),
                    "occurred_at": occurred.isoformat(),
                    "user_id": f"user-{rng.randrange(1, 9)}",
                    "process_id": f"worker-{rng.randrange(1, 5)}",
                    "context": rng.choice(["web", "api", "batch"]),
                    "properties": {
                        "source": "demo",
                        "size_kb": rng.randrange(20, 5000),
                    },
                }
            )
        usage_events_ingest(organization=organization, events=events, now=now)
