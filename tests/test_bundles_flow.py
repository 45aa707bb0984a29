"""Demo-like data with planted behaviour, through the profiler, into bundle offers."""

from collections import Counter

import pytest
from django.utils import timezone

from bundles.models import PersonalizedBundle
from demo import seed_bundles, seed_metering, seed_profiling
from profiling import synthetic
from profiling.features import DAY

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
    others = [
        names
        for segment, counter in by_segment.items()
        if segment != IMAGE_SEGMENT
        for names in counter
    ]
    assert not [names for names in others if names == "Image Processing Suite"]
    for bundle in offers:
        assert bundle.price < bundle.predicted_cost
        assert bundle.list_value - bundle.discount + bundle.upsell == bundle.price
