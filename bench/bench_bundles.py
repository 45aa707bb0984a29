"""Bundle generation: personalised offers for 10,000 profiled customers.

Profiles are written as a profiling run would (four planted segments leaning on
image, export, data and ML operations, with family tags and predicted counts); then
one ``personalized_bundles_create`` run is timed end to end (reading signals and
prices, matching, combining, pricing, and inserting offers, lines and audit rows).
The reference is the raw ``GROUP BY customer`` over 1,000,000 events measured by the
reference probe in the same run; the engine alone is reported beside it.
"""

import datetime as dt
from decimal import Decimal

import numpy as np

from bench.core import Context, Result, stopwatch

ORDER = 60
CUSTOMERS = 10_000
SLUG = "bench-bundles"

FAMILIES = {
    "image": ["image.resize", "image.crop", "image.convert"],
    "export": ["export.csv", "export.pdf", "export.xlsx"],
    "data": ["data.query", "data.ingest", "data.transform"],
    "ml": ["ml.predict", "ml.train", "ml.embed"],
}
PRICES = {
    "image.resize": "0.02", "image.crop": "0.015", "image.convert": "0.03",
    "export.csv": "0.05", "export.pdf": "0.08", "export.xlsx": "0.06",
    "data.query": "0.004", "data.ingest": "0.01", "data.transform": "0.02",
    "ml.predict": "0.03", "ml.train": "0.90", "ml.embed": "0.01",
}  # fmt: skip


def _setup(count: int):
    from bundles import services
    from metering.models import Customer, Organization
    from profiling.models import BehavioralTag, CustomerProfile, ProfilingRun, Segment

    Organization.objects.filter(slug=SLUG).delete()
    organization = Organization.objects.create(slug=SLUG, name="Bench bundles")
    Customer.objects.bulk_create(
        [
            Customer(organization=organization, external_id=f"b{i:06d}", name=f"B{i}")
            for i in range(count)
        ],
        batch_size=5_000,
    )
    ids = list(
        Customer.objects.filter(organization=organization)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = dt.datetime.now(dt.UTC)
    run = ProfilingRun.objects.create(
        organization=organization,
        status=ProfilingRun.Status.SUCCEEDED,
        window_start=now - dt.timedelta(days=30),
        window_end=now,
        finished_at=now,
    )
    names = list(FAMILIES)
    segments = {
        family: Segment.objects.create(
            run=run, label=i, name=f"{family.capitalize()}-heavy users"
        )
        for i, family in enumerate(names)
    }
    rng = np.random.default_rng(11)
    planted = rng.integers(0, len(names), len(ids))
    profiles, tags = [], []
    for customer_id, segment in zip(ids, planted, strict=True):
        family = names[segment]
        predicted = {op: float(round(rng.gamma(4, 150), 1)) for op in FAMILIES[family]}
        other = names[(segment + 1 + rng.integers(0, 3)) % len(names)]
        predicted[FAMILIES[other][0]] = float(round(rng.gamma(2, 20), 1))
        profiles.append(
            CustomerProfile(
                run=run,
                customer_id=customer_id,
                segment=segments[family],
                predicted_counts=predicted,
            )
        )
        tags.append(
            BehavioralTag(
                run=run,
                customer_id=customer_id,
                name=f"heavy:{family}.*",
                score=Decimal(str(round(rng.uniform(0.4, 1.0), 3))),
                explanation="planted",
            )
        )
    CustomerProfile.objects.bulk_create(profiles, batch_size=5_000)
    BehavioralTag.objects.bulk_create(tags, batch_size=5_000)
    for operation, price in PRICES.items():
        services.operation_price_set(
            organization=organization, operation=operation, unit_price=Decimal(price)
        )
    for family, operations in FAMILIES.items():
        services.bundle_template_save(
            organization=organization,
            name=f"{family.capitalize()} suite",
            discount_percent=Decimal("20"),
            validity="month",
            target_tags=[{"name": f"heavy:{family}.*", "weight": "1"}],
            target_segments=[{"name": f"{family.capitalize()}-heavy*", "weight": "1"}],
            operations=[
                services.TemplateOperationInput(op, Decimal("400")) for op in operations
            ],
        )
    return organization, now


def run(ctx: Context) -> list[Result]:
    from bundles import selectors, services
    from bundles.engine import propose_bundle
    from bundles.models import PersonalizedBundle, PersonalizedBundleLine

    count = ctx.scaled(CUSTOMERS)
    organization, now = _setup(count)

    with stopwatch() as engine_time:
        signals = selectors.customer_signals(organization=organization)
        specs = selectors.active_template_specs(
            organization=organization, now=now, session_minutes=60
        )
        prices = selectors.list_prices(organization=organization)
        settings = selectors.engine_settings_for(organization=organization)
        proposals = [
            propose_bundle(s, specs, prices, settings) for s in signals.values()
        ]
    with stopwatch() as run_time:
        summary = services.personalized_bundles_create(
            organization=organization, now=now
        )
    lines = PersonalizedBundleLine.objects.filter(
        bundle__organization=organization
    ).count()
    offered = PersonalizedBundle.objects.filter(organization=organization).count()
    reference = ctx.reference.get("group_by_seconds")
    note = (
        f"{count:,} customers: {summary.offered:,} offers ({offered:,} stored, "
        f"{lines:,} lines), {summary.not_worth_offering:,} not worth offering; "
        f"engine alone {engine_time['seconds']:.2f} s for "
        f"{sum(p is not None for p in proposals):,} proposals"
    )
    PersonalizedBundle.objects.filter(organization=organization).delete()
    organization.delete()
    return [
        Result(
            f"bundles: generation for {count:,} customers",
            run_time["seconds"],
            "s",
            reference=reference,
            reference_name="raw GROUP BY of 1M events",
            better="lower",
            note=note,
        ),
        Result(
            "bundles: generation rate",
            count / run_time["seconds"],
            "customers/s",
        ),
    ]
