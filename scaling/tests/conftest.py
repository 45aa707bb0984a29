from decimal import Decimal

import pytest

from metering.tests.factories import CustomerFactory
from scaling.tests.factories import BundleCapacityFactory, FeatureBundleFactory


@pytest.fixture
def bundles(organization):
    """Startup 59.00 (100 compute hours), Growth 119.00 (200), Enterprise 399.00
    (1000) a month: base price plus 0.10 per compute hour of capacity."""
    made = {}
    for name, base, capacity, features in (
        ("Startup Launch", "49.00", "100", []),
        ("Growth Accelerator", "99.00", "200", ["cdn", "advanced_analytics"]),
        (
            "Enterprise Capacity",
            "299.00",
            "1000",
            ["cdn", "advanced_analytics", "priority_support"],
        ),
    ):
        bundle = FeatureBundleFactory(
            organization=organization,
            name=name,
            base_price=Decimal(base),
            features=features,
        )
        BundleCapacityFactory(bundle=bundle, capacity=Decimal(capacity))
        made[name] = bundle
    return made


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, external_id="acme")
