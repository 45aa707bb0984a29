"""Demo-like data with planted behaviour, through the profiler, into bundle offers."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bundles.models import PersonalizedBundle
from bundles.services import (
    TemplateOperationInput,
    bundle_template_save,
    operation_price_set,
    personalized_bundles_create,
)
from demo import seed_bundles, seed_metering, seed_profiling
from metering.tests.factories import CustomerFactory, usage_events_bulk_create
from profiling import synthetic
from profiling.features import DAY
from profiling.models import CustomerProfile
from profiling.services import profiling_run_execute

DAY_DELTA = timedelta(days=1)
SECOND = timedelta(seconds=1)

pytestmark = pytest.mark.django_db

# Planted segment 0 of the synthetic generator leans on the image operations.
IMAGE_SEGMENT = 0


def test_planted_image_heavy_customers_get_the_image_bundle():
    context = {"password": "pw-for-tests-1"}

    def progress(iterable, desc="", total=None):
        return iterable

    for module in (seed_metering, seed_profiling, seed_bundles):
        module.seed(context=context, progress=progress)

    offers = PersonalizedBundle.objects.filter(
        source=PersonalizedBundle.Source.SCHEDULED
    ).prefetch_related("templates")
    # The planted segments, as seed_profiling generated them.
    today = int(timezone.now().timestamp()) // DAY * DAY
    labels = synthetic.generate(
        customers=len(context["customers"]),
        seed=seed_profiling.SEED,
        window_start=today - 30 * DAY,
        days=29,
        scale_sessions=0.5,
    ).labels
    planted = {
        customer.pk: int(label)
        for customer, label in zip(context["customers"], labels, strict=True)
    }
    by_segment: dict[int, Counter] = {}
    for bundle in offers:
        segment = planted[bundle.customer_id]
        names = " + ".join(sorted(t.name for t in bundle.templates.all()))
        by_segment.setdefault(segment, Counter())[names] += 1
    image_customers = sum(1 for s in planted.values() if s == IMAGE_SEGMENT)

    image_offers = by_segment[IMAGE_SEGMENT]
    with_suite = sum(
        count for names, count in image_offers.items() if "Image Processing" in names
    )
    assert with_suite == sum(image_offers.values())
    assert with_suite >= 0.8 * image_customers
    # The demo also spreads random traffic over all operations, heaviest on a few
    # customers: one of those may genuinely use enough image operations for the
    # suite (every offer is cheaper than its predicted use, below). Offers of the
    # suite alone still go to the image segment all but exceptionally.
    others_with_suite = sum(
        count
        for segment, counter in by_segment.items()
        if segment != IMAGE_SEGMENT
        for names, count in counter.items()
        if names == "Image Processing Suite"
    )
    assert others_with_suite <= 0.05 * (len(planted) - image_customers)
    for bundle in offers:
        assert bundle.price < bundle.predicted_cost
        assert bundle.list_value - bundle.discount + bundle.upsell == bundle.price


def _daily_uses(customer, *, per_week: int, days: int, now) -> None:
    """``per_week`` uses of image.resize a week, one session a day, for the last
    ``days`` days before ``now``."""
    per_day = [per_week // 7 + (day % 7 < per_week % 7) for day in range(days)]
    usage_events_bulk_create(
        customer=customer,
        events=[
            {
                "operation": "image.resize",
                "occurred_at": now - (days - day) * DAY_DELTA + n * SECOND,
            }
            for day, count in enumerate(per_day)
            for n in range(count)
        ],
        now=now,
    )


def test_new_customers_using_more_than_a_week_bundle_are_offered_it(
    organization, clock_start
):
    # Customers who started 15 days ago: half use image.resize about 60 times a
    # week, half about 20 times. The weekly template includes 50 at 20 % off
    # (0.80 instead of 1.00): worth it for the first half only.
    now = clock_start
    operation_price_set(
        organization=organization, operation="image.resize", unit_price=Decimal("0.02")
    )
    bundle_template_save(
        organization=organization,
        name="New customer week",
        discount_percent=Decimal("20"),
        validity="week",
        operations=[TemplateOperationInput("image.resize", Decimal("50"))],
    )
    heavy = [CustomerFactory(organization=organization) for _ in range(6)]
    light = [CustomerFactory(organization=organization) for _ in range(6)]
    for customers, per_week in ((heavy, 60), (light, 20)):
        for customer in customers:
            _daily_uses(customer, per_week=per_week, days=15, now=now)

    run = profiling_run_execute(organization=organization, now=now)
    personalized_bundles_create(organization=organization, now=now)

    # 60 a week is about 257 in the next 30 days, not the 43 of the same uses
    # spread over the 90-day window.
    predicted = CustomerProfile.objects.get(run=run, customer=heavy[0])
    assert 240 <= predicted.predicted_counts["image.resize"] <= 270

    offered = {
        bundle.customer_id: bundle
        for bundle in PersonalizedBundle.objects.filter(
            customer__organization=organization, templates__name="New customer week"
        )
    }
    assert set(offered) == {customer.pk for customer in heavy}
    for bundle in offered.values():
        # 1.00 less 20 %, plus the organization's default 5 % upsell.
        assert (bundle.list_value, bundle.discount, bundle.price) == (
            Decimal("1.00"),
            Decimal("0.20"),
            Decimal("0.84"),
        )
        assert bundle.valid_until - bundle.valid_from == DAY_DELTA * 7
