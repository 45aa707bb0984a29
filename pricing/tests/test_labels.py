from decimal import Decimal

import pytest

from pricing.engine import (
    ActivityPricing,
    ModelPricing,
    Tier,
    calculate_cost,
    calculate_model_cost,
)
from pricing.labels import activity_name, line_label

pytestmark = pytest.mark.clockless

D = Decimal

TOKENS = ActivityPricing(
    activity_type="tokens",
    price_per_unit=D("0.001"),
    base_agent_fee=D("10.00"),
    volume_pricing_enabled=True,
    tiers=(
        Tier(D(10000), D("0.002")),
        Tier(D(50000), D("0.0006"), D("5")),
    ),
    minimum_charge=D("5.00"),
)


def labels(result, currency="USD") -> list[tuple[str, Decimal]]:
    return [(line_label(line, currency), line.amount) for line in result.lines]


def test_graduated_lines_name_their_tier_band_and_price():
    result = calculate_cost(TOKENS, D(60000), agents=2)
    assert labels(result) == [
        ("Tokens — base fee (2 agents at USD 10.00)", D("20.00")),
        ("Tokens — tier 1 (0–10,000 at 0.002)", D("20.00")),
        ("Tokens — tier 2 (10,000–50,000 at 0.0006 + USD 5.00 flat)", D("29.00")),
        ("Tokens — above 50,000 (at 0.001)", D("10.00")),
    ]


def test_volume_line_names_the_tier_reached():
    volume = ActivityPricing(**{**TOKENS.__dict__, "tier_mode": "volume"})
    result = calculate_cost(volume, D(15000), agents=1)
    assert labels(result) == [
        ("Tokens — base fee (1 agent at USD 10.00)", D("10.00")),
        ("Tokens — tier 2 (10,000–50,000 at 0.0006 + USD 5.00 flat)", D("14.00")),
    ]


def test_untiered_usage_and_minimum_charge():
    calls = ActivityPricing(
        activity_type="api_calls",
        price_per_unit=D("0.10"),
        minimum_charge=D("5.00"),
    )
    result = calculate_cost(calls, D(12))
    assert labels(result, "EUR") == [
        ("Api calls — base fee (0 agents at EUR 0.00)", D("0.00")),
        ("Api calls — usage (at 0.1)", D("1.20")),
        ("Api calls — top-up to the minimum charge", D("3.80")),
    ]


def test_hybrid_lines_carry_their_activity_whatever_the_breakdown_key():
    hybrid = ModelPricing(
        model_type="hybrid",
        subscription_fee=D("99"),
        activities=(TOKENS,),
    )
    result = calculate_model_cost(hybrid, {"tokens": D(500)}, agents=0)
    assert [line.key for line in result.lines] == [
        "subscription_fee",
        "tokens.base_agent_fee",
        "tokens.tier_1_cost",
        "tokens.minimum_charge_adjustment",
    ]
    assert labels(result) == [
        ("Subscription fee", D("99.00")),
        ("Tokens — base fee (0 agents at USD 10.00)", D("0.00")),
        ("Tokens — tier 1 (0–10,000 at 0.002)", D("1.00")),
        ("Tokens — top-up to the minimum charge", D("4.00")),
    ]


def test_activity_name():
    assert activity_name("gpt_tokens") == "Gpt tokens"
    assert activity_name("") == ""
