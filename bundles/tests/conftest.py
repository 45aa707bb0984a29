"""Bundles fixtures: a demo-like catalogue and profiles as the profiler writes them."""

import datetime as dt
from decimal import Decimal

import pytest

from bundles import services
from metering.tests.factories import CustomerFactory
from profiling.models import BehavioralTag, CustomerProfile, ProfilingRun, Segment

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)

PRICES = {
    "image.resize": Decimal("0.02"),
    "image.crop": Decimal("0.015"),
    "image.convert": Decimal("0.03"),
    "export.csv": Decimal("0.10"),
    "export.pdf": Decimal("0.25"),
}


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def catalogue(organization):
    """List prices and two templates shaped like the demo's."""
    for operation, price in PRICES.items():
        services.operation_price_set(
            organization=organization, operation=operation, unit_price=price
        )
    image = services.bundle_template_save(
        organization=organization,
        name="Image Processing Suite",
        discount_percent=Decimal("20"),
        validity="month",
        target_tags=[{"name": "heavy:image.*", "weight": 1}],
        target_segments=[{"name": "Image-heavy batch users", "weight": 1}],
        operations=[
            services.TemplateOperationInput("image.resize", Decimal("1000")),
            services.TemplateOperationInput("image.crop", Decimal("500")),
            services.TemplateOperationInput("image.convert", Decimal("200")),
        ],
    )
    export = services.bundle_template_save(
        organization=organization,
        name="Data Export Package",
        discount_percent=Decimal("15"),
        validity="month",
        target_tags=[{"name": "export-power-user", "weight": 1}],
        operations=[
            services.TemplateOperationInput("export.csv", Decimal("100")),
            services.TemplateOperationInput("export.pdf", Decimal("50")),
        ],
    )
    return {"image": image, "export": export}


@pytest.fixture
def profile(now):
    """``profile(customer, segment=..., tags={...}, predicted={...})`` writes what
    a successful profiling run would have written for the customer."""
    runs: dict[int, ProfilingRun] = {}

    def make(customer, *, segment=None, tags=None, predicted=None):
        organization = customer.organization
        run = runs.get(organization.pk)
        if run is None:
            run = runs[organization.pk] = ProfilingRun.objects.create(
                organization=organization,
                status=ProfilingRun.Status.SUCCEEDED,
                window_start=now - dt.timedelta(days=30),
                window_end=now,
                finished_at=now,
            )
        segment_row = None
        if segment:
            segment_row, _ = Segment.objects.get_or_create(
                run=run,
                name=segment,
                defaults={"label": Segment.objects.filter(run=run).count()},
            )
        CustomerProfile.objects.create(
            run=run,
            customer=customer,
            segment=segment_row,
            predicted_counts={k: float(v) for k, v in (predicted or {}).items()},
        )
        for name, score in (tags or {}).items():
            BehavioralTag.objects.create(
                run=run,
                customer=customer,
                name=name,
                score=Decimal(score),
                explanation=f"{name} because of the tests",
            )
        return customer

    return make


@pytest.fixture
def image_customer(organization, profile):
    return profile(
        CustomerFactory(organization=organization, name="Pixel Works"),
        segment="Image-heavy batch users",
        tags={"heavy:image.resize": "0.9"},
        predicted={
            "image.resize": 1000,
            "image.crop": 450,
            "image.convert": 150,
            "export.csv": 5,
        },
    )


@pytest.fixture
def export_customer(organization, profile):
    return profile(
        CustomerFactory(organization=organization, name="Ledger Ltd"),
        segment="Quick exporters",
        tags={"export-power-user": "0.8"},
        predicted={"export.csv": 120, "export.pdf": 60},
    )
