"""Demo tenancy: the organization, the admin login, customers and a portal login."""

import random

from django.contrib.auth import get_user_model
from faker import Faker

from metering.models import Customer, Organization, PortalUser
from metering.services import portal_user_create

DEMO_SLUG = "demo"
CUSTOMER_COUNT = 300


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
