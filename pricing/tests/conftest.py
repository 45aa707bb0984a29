from decimal import Decimal

import pytest

from pricing import services

SEED_TOKENS = {
    "name": "Advanced Token Billing",
    "model_type": "activity",
    "activity": {
        "price_per_unit": "0.001",
        "activity_type": "tokens",
        "unit_type": "token",
        "base_agent_fee": "10.00",
        "volume_pricing_enabled": True,
        "tiers": [
            {"up_to": 10000, "unit_price": "0.0008"},
            {"up_to": 50000, "unit_price": "0.0006"},
            {"up_to": 100000, "unit_price": "0.0004"},
        ],
        "minimum_charge": "5.00",
    },
}

GPT_TOKENS_FLAT = {
    "name": "Token-Based AI Services",
    "description": "Pay per token with volume discounts",
    "model_type": "activity",
    "activity_price_per_unit": 0.002,
    "activity_activity_type": "gpt_tokens",
    "activity_unit_type": "token",
    "activity_base_agent_fee": 15.0,
    "activity_volume_pricing_enabled": True,
    "activity_volume_tier_1_threshold": 5000,
    "activity_volume_tier_1_price": 0.0015,
    "activity_volume_tier_2_threshold": 20000,
    "activity_volume_tier_2_price": 0.0010,
    "activity_minimum_charge": 10.0,
    "activity_billing_frequency": "monthly",
}


def tiers(*pairs) -> tuple[services.TierSpec, ...]:
    return tuple(
        services.TierSpec(
            None if up_to is None else Decimal(str(up_to)), Decimal(price)
        )
        for up_to, price in pairs
    )


@pytest.fixture
def seed_token_model(organization):
    """The seed's advanced token model, created through the service."""
    return services.billing_model_create(
        organization=organization,
        spec=services.BillingModelSpec(
            name="Advanced Token Billing",
            activities=(
                services.ActivitySpec(
                    activity_type="tokens",
                    unit_type="token",
                    price_per_unit=Decimal("0.001"),
                    base_agent_fee=Decimal("10.00"),
                    volume_pricing_enabled=True,
                    tiers=tiers(
                        (10000, "0.0008"), (50000, "0.0006"), (100000, "0.0004")
                    ),
                    minimum_charge=Decimal("5.00"),
                ),
            ),
        ),
    )


@pytest.fixture
def gpt_token_model(organization):
    """The seed's "Token-Based AI Services" model (the 47.50 example)."""
    return services.billing_model_create(
        organization=organization,
        spec=services.BillingModelSpec(
            name="Token-Based AI Services",
            activities=(
                services.ActivitySpec(
                    activity_type="gpt_tokens",
                    unit_type="token",
                    price_per_unit=Decimal("0.002"),
                    base_agent_fee=Decimal("15.00"),
                    volume_pricing_enabled=True,
                    tiers=tiers((5000, "0.0015"), (20000, "0.0010")),
                    minimum_charge=Decimal("10.00"),
                ),
            ),
        ),
    )


@pytest.fixture
def api_calls_model(organization):
    """The seed's simple activity billing: 0.10 per API call."""
    return services.billing_model_create(
        organization=organization,
        spec=services.BillingModelSpec(
            name="Simple API calls",
            activities=(
                services.ActivitySpec(
                    activity_type="api_calls", price_per_unit=Decimal("0.10")
                ),
            ),
        ),
    )
