"""Demo scaling: the three default bundles, resource metrics for 20 accounts built
from the real series in SHARED_DATA_DIR (synthetic shapes without it), entitlements,
a campaign, a forecast run and the resulting recommendations."""

import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from scaling.models import (
    BundleCapacity,
    Campaign,
    CapacityFloor,
    Entitlement,
    FeatureBundle,
    ResourceMetric,
    ScalingPolicy,
)
from scaling.services.forecasts import forecast_organization
from scaling.services.provisioning import entitlement_record
from scaling.services.recommendations import recommendations_generate_for_organization

logger = logging.getLogger(__name__)
ACCOUNTS = 20
HOURS = 28 * 24
DAYS = 120

# name: (segment, base price, features, {resource: (capacity per step, unit price)})
BUNDLES = {
    "Startup Launch": ("startup", "49.00", [], {
        "compute_hours": ("8", "2.00"), "bandwidth_gb": ("200", "0.05"),
        "storage_gb": ("500", "0.02"),
    }),
    "Growth Accelerator": ("growth", "149.00", ["cdn", "advanced_analytics"], {
        "compute_hours": ("24", "2.00"), "bandwidth_gb": ("800", "0.05"),
        "storage_gb": ("2000", "0.02"),
    }),
    "Enterprise Capacity": (
        "enterprise", "499.00", ["cdn", "advanced_analytics", "priority_support"], {
            "compute_hours": ("96", "2.00"), "bandwidth_gb": ("4000", "0.05"),
            "storage_gb": ("10000", "0.02"),
        },
    ),
}  # fmt: skip


def _load(name: str, time_column: str, value_column: str):
    import pandas as pd

    frame = pd.read_csv(Path(settings.SHARED_DATA_DIR) / name)
    seconds = pd.to_datetime(frame[time_column]).to_numpy().astype("datetime64[s]")
    return seconds.astype(np.int64), frame[value_column].to_numpy(dtype=float)


def _synthetic_shapes() -> tuple[np.ndarray, np.ndarray]:
    """Stand-ins with a daily and a weekly cycle, for when the real series are
    not beside the project (``SHARED_DATA_DIR``)."""
    rng = np.random.default_rng(7)
    hours = np.arange(HOURS)
    hourly = 1 + 0.4 * np.sin(2 * np.pi * (hours % 24 - 8) / 24)
    hourly *= 1 - 0.25 * ((hours // 24) % 7 >= 5) + 0.05 * rng.standard_normal(HOURS)
    days = np.arange(DAYS)
    daily = (1 - 0.3 * (days % 7 >= 5)) * np.exp(0.1 * rng.standard_normal(DAYS))
    return hourly / hourly.mean(), daily / daily.mean()


def _shapes() -> tuple[np.ndarray, np.ndarray]:
    """Hourly CPU shape (NAB ASG CPU, 5-minute means per hour) and daily traffic
    shape (Wikipedia page views, damped exp of the log), both scaled to a mean of 1."""
    if not (
        Path(settings.SHARED_DATA_DIR) / "example_wp_log_peyton_manning.csv"
    ).exists():
        logger.warning(
            "%s not found: the demo's resource metrics use synthetic shapes",
            settings.SHARED_DATA_DIR,
        )
        return _synthetic_shapes()
    _, cpu = _load("cpu_utilization_asg_misconfiguration.csv", "timestamp", "value")
    hourly = cpu[: len(cpu) // 12 * 12].reshape(-1, 12).mean(axis=1)
    hourly = hourly[-(HOURS + 24 * 9) : -24 * 9]  # before the labelled anomaly
    _, views = _load("example_wp_log_peyton_manning.csv", "ds", "y")
    recent = views[-DAYS:]
    daily = np.exp(0.5 * (recent - recent.mean()))  # spikes damped
    return hourly / hourly.mean(), daily / daily.mean()


def _bundles(organization) -> dict[str, FeatureBundle]:
    made = {}
    for name, (segment, base, features, capacities) in BUNDLES.items():
        bundle, _ = FeatureBundle.objects.get_or_create(
            organization=organization,
            name=name,
            defaults={
                "segment": segment,
                "base_price": Decimal(base),
                "features": features,
            },
        )
        for resource, (capacity, unit_price) in capacities.items():
            BundleCapacity.objects.get_or_create(
                bundle=bundle,
                resource=resource,
                defaults={
                    "capacity": Decimal(capacity),
                    "unit_price": Decimal(unit_price),
                },
            )
        made[name] = bundle
    return made


def seed(*, context: dict, progress) -> None:
    organization = context["organization"]
    customers = context["customers"][:ACCOUNTS]
    bundles = _bundles(organization)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    hour_start = now - dt.timedelta(hours=HOURS)
    day_start = now.replace(hour=0) - dt.timedelta(days=DAYS)
    cpu, traffic = _shapes()
    rng = np.random.default_rng(20261121)
    seeded = set(
        ResourceMetric.objects.filter(customer__in=customers).values_list(
            "customer_id", flat=True
        )
    )
    rows = []
    for number, customer in enumerate(progress(customers, desc="scaling metrics")):
        # The portal's account (the first) grows out of its Startup bundle.
        size = 1.1 if number == 0 else float(rng.uniform(0.25, 1.2))
        if customer.pk in seeded:
            continue
        compute = cpu * 5.5 * size + rng.normal(0, 0.2, HOURS).clip(-0.5, 0.5)
        bandwidth = traffic * 150 * size * rng.uniform(0.9, 1.1, DAYS)
        growth = np.linspace(0.6, 1.0, DAYS) ** 2
        storage = 350 * size * growth + rng.normal(0, 3, DAYS)
        series = (
            ("compute_hours", hour_start, dt.timedelta(hours=1), compute),
            ("bandwidth_gb", day_start, dt.timedelta(days=1), bandwidth),
            ("storage_gb", day_start, dt.timedelta(days=1), storage),
        )
        for resource, start, step, values in series:
            rows += [
                ResourceMetric(
                    organization=organization,
                    customer=customer,
                    resource=resource,
                    timestamp=start + i * step,
                    value=round(max(0.0, float(value)), 4),
                )
                for i, value in enumerate(values)
            ]
        if not Entitlement.objects.filter(customer=customer).exists():
            name = "Growth Accelerator" if size > 0.9 and number else "Startup Launch"
            entitlement_record(
                customer=customer, bundle=bundles[name], now=now - dt.timedelta(days=90)
            )
    ResourceMetric.objects.bulk_create(rows, batch_size=5_000, ignore_conflicts=True)

    ScalingPolicy.objects.get_or_create(
        organization=organization,
        customer=customers[0],
        defaults={"revenue_per_unit": Decimal("4.00"), "holiday_country": "US"},
    )
    launch = customers[1]
    Campaign.objects.get_or_create(
        organization=organization,
        customer=launch,
        name="Winter sale",
        defaults={
            "start": now + dt.timedelta(days=5),
            "end": now + dt.timedelta(days=12),
            "expected_lift": 0.4,
        },
    )
    CapacityFloor.objects.get_or_create(
        organization=organization,
        customer=launch,
        resource="compute_hours",
        reason="Product launch",
        defaults={
            "start": now + dt.timedelta(hours=12),
            "end": now + dt.timedelta(hours=36),
            "minimum": 30.0,
        },
    )
    forecast_organization(
        organization=organization,
        horizon=None,
        now=now,
        progress=lambda chunks: progress(chunks, desc="forecasts"),
    )
    recommendations_generate_for_organization(organization=organization, now=now)
