from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.engine import (
    ActivityPricing,
    ModelPricing,
    PricingInputError,
    Tier,
    calculate_cost,
    calculate_model_cost,
    describe_tiers,
    tier_problems,
)

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

D = Decimal

SEED_TOKENS = ActivityPricing(
    activity_type="tokens",
    price_per_unit=D("0.001"),
    base_agent_fee=D("10.00"),
    volume_pricing_enabled=True,
    tiers=(
        Tier(D(10000), D("0.0008")),
        Tier(D(50000), D("0.0006")),
        Tier(D(100000), D("0.0004")),
    ),
    minimum_charge=D("5.00"),
)
GPT_TOKENS = ActivityPricing(
    activity_type="gpt_tokens",
    price_per_unit=D("0.002"),
    base_agent_fee=D("15.00"),
    volume_pricing_enabled=True,
    tiers=(Tier(D(5000), D("0.0015")), Tier(D(20000), D("0.0010"))),
    minimum_charge=D("10.00"),
)
API_CALLS = ActivityPricing(activity_type="api_calls", price_per_unit=D("0.10"))


def test_seed_gpt_tokens_15000_tokens_2_agents_is_47_50():
    result = calculate_cost(GPT_TOKENS, 15000, 2)
    assert result.total == D("47.50")
    assert result.breakdown == {
        "base_agent_fee": D("30.00"),
        "tier_1_cost": D("7.50"),
        "tier_2_cost": D("10.00"),
        "total": D("47.50"),
    }
    assert result.minimum_charge_applied is False


@pytest.mark.parametrize(
    ("units", "agents", "total", "breakdown"),
    [
        (25000, 2, "37.00", {"base_agent_fee": "20.00", "tier_1_cost": "8.00",
                             "tier_2_cost": "9.00"}),
        (1000, 1, "10.80", {"base_agent_fee": "10.00", "tier_1_cost": "0.80"}),
        (75000, 3, "72.00", {"base_agent_fee": "30.00", "tier_1_cost": "8.00",
                             "tier_2_cost": "24.00", "tier_3_cost": "10.00"}),
        (150000, 2, "122.00", {"base_agent_fee": "20.00", "tier_1_cost": "8.00",
                               "tier_2_cost": "24.00", "tier_3_cost": "20.00",
                               "overflow_cost": "50.00"}),
        # The 5.00 minimum does not bind: 10.00 agent fee + 0.08 usage.
        (100, 1, "10.08", {"base_agent_fee": "10.00", "tier_1_cost": "0.08"}),
    ],
)  # fmt: skip
def test_seed_token_model_figures(units, agents, total, breakdown):
    result = calculate_cost(SEED_TOKENS, units, agents)
    assert result.total == D(total)
    assert result.breakdown == {
        **{key: D(value) for key, value in breakdown.items()},
        "total": D(total),
    }
    assert result.minimum_charge_applied is False


def test_seed_100_api_calls_at_0_10_is_10_00():
    result = calculate_cost(API_CALLS, 100, 0)
    assert result.total == D("10.00")
    assert result.breakdown == {
        "base_agent_fee": D("0.00"),
        "usage_cost": D("10.00"),
        "total": D("10.00"),
    }


def test_minimum_charge_binds_with_an_adjustment_line():
    result = calculate_cost(SEED_TOKENS, 100, 0)
    assert result.minimum_charge_applied is True
    assert result.breakdown == {
        "base_agent_fee": D("0.00"),
        "tier_1_cost": D("0.08"),
        "minimum_charge_adjustment": D("4.92"),
        "total": D("5.00"),
    }


def test_zero_usage_charges_agent_fees_only():
    result = calculate_cost(SEED_TOKENS, 0, 1)
    assert result.breakdown == {"base_agent_fee": D("10.00"), "total": D("10.00")}


@pytest.mark.parametrize(
    ("units", "total"),
    [(10000, "18.00"), (10001, "18.00"), (50000, "42.00"), (100000, "62.00"),
     (100001, "62.00"), (100500, "62.50")],
)  # fmt: skip
def test_exact_tier_boundaries(units, total):
    # 10 agent fee + 8.00 (first 10k) + 24.00 (to 50k) + 20.00 (to 100k)
    assert calculate_cost(SEED_TOKENS, units, 1).total == D(total)


def test_units_exactly_at_threshold_stay_in_that_tier():
    result = calculate_cost(SEED_TOKENS, 10000, 0)
    assert [line.key for line in result.lines] == ["base_agent_fee", "tier_1_cost"]


def test_decimal_units_are_priced_exactly():
    minutes = ActivityPricing(price_per_unit=D("0.015"))
    assert calculate_cost(minutes, D("12.5"), 0).total == D("0.19")  # 0.1875


def test_rounding_is_half_up_per_line_and_lines_add_up():
    pricing = ActivityPricing(
        price_per_unit=D("0.00333333"),
        volume_pricing_enabled=True,
        tiers=(Tier(D(3), D("0.00500000")),),
    )
    result = calculate_cost(pricing, 1000, 0)
    # 3 x 0.005 = 0.015 -> 0.02; 997 x 0.00333333 = 3.32333001 -> 3.32
    assert result.breakdown == {
        "base_agent_fee": D("0.00"),
        "tier_1_cost": D("0.02"),
        "overflow_cost": D("3.32"),
        "total": D("3.34"),
    }


def test_zero_decimal_currency_rounds_to_whole_units():
    pricing = ActivityPricing(price_per_unit=D("1.5"), currency="JPY")
    assert calculate_cost(pricing, 3, 0).total == D("5")  # 4.5 half-up


# Stripe's documented tiers: 1-5 at 7, 6-10 at 6.50, 11+ at 6.
STRIPE_TIERS = (Tier(D(5), D("7")), Tier(D(10), D("6.50")), Tier(None, D("6")))


@pytest.mark.parametrize(
    ("units", "total"),
    [(1, "7.00"), (5, "35.00"), (6, "41.50"), (20, "127.50"), (25, "157.50")],
)
def test_stripe_graduated_example(units, total):
    pricing = ActivityPricing(
        price_per_unit=D("99"), volume_pricing_enabled=True, tiers=STRIPE_TIERS
    )
    assert calculate_cost(pricing, units).total == D(total)


@pytest.mark.parametrize(
    ("units", "total"),
    [(1, "7.00"), (5, "35.00"), (6, "39.00"), (20, "120.00"), (25, "150.00")],
)
def test_stripe_volume_example(units, total):
    pricing = ActivityPricing(
        price_per_unit=D("99"),
        volume_pricing_enabled=True,
        tier_mode="volume",
        tiers=STRIPE_TIERS,
    )
    assert calculate_cost(pricing, units).total == D(total)


def test_volume_total_drops_at_a_boundary():
    pricing = ActivityPricing(
        price_per_unit=D("0.50"),
        volume_pricing_enabled=True,
        tier_mode="volume",
        tiers=(Tier(D(100), D("1")),),
    )
    assert calculate_cost(pricing, 100).total == D("100.00")
    assert calculate_cost(pricing, 101).total == D("50.50")


def test_lago_volume_example_with_flat_fees():
    # 65,000 API calls: all at the third tier's 0.0006 plus its 10 flat fee = 49.
    pricing = ActivityPricing(
        price_per_unit=D("0.0004"),
        volume_pricing_enabled=True,
        tier_mode="volume",
        tiers=(
            Tier(D(10000), D("0.0010"), D(10)),
            Tier(D(50000), D("0.0008"), D(10)),
            Tier(D(100000), D("0.0006"), D(10)),
            Tier(None, D("0.0004"), D(10)),
        ),
    )
    result = calculate_cost(pricing, 65000)
    assert result.total == D("49.00")
    assert result.breakdown["tier_3_cost"] == D("49.00")


def test_volume_mode_at_zero_usage_charges_the_first_tier_flat_fee():
    pricing = ActivityPricing(
        price_per_unit=D("1"),
        volume_pricing_enabled=True,
        tier_mode="volume",
        tiers=(Tier(D(100), D("0.5"), D("20")), Tier(None, D("0.4"), D("30"))),
    )
    assert calculate_cost(pricing, 0).breakdown["tier_1_cost"] == D("20.00")


def test_lago_graduated_example():
    # 1 per unit for the first 100, 0.50 for the next 100, 0.10 beyond.
    pricing = ActivityPricing(
        price_per_unit=D("0.10"),
        volume_pricing_enabled=True,
        tiers=(Tier(D(100), D("1")), Tier(D(200), D("0.50"))),
    )
    assert calculate_cost(pricing, 250).breakdown == {
        "base_agent_fee": D("0.00"),
        "tier_1_cost": D("100.00"),
        "tier_2_cost": D("50.00"),
        "overflow_cost": D("5.00"),
        "total": D("155.00"),
    }


def test_graduated_flat_fee_is_charged_once_usage_enters_the_tier():
    pricing = ActivityPricing(
        price_per_unit=D("0"),
        volume_pricing_enabled=True,
        tiers=(Tier(D(1000), D("0"), D("200")), Tier(None, D("0.10"), D("300"))),
    )
    assert calculate_cost(pricing, 0).total == D("0.00")
    assert calculate_cost(pricing, 1).total == D("200.00")
    assert calculate_cost(pricing, 1000).total == D("200.00")
    assert calculate_cost(pricing, 1001).total == D("500.10")


def test_tiers_are_ignored_without_volume_pricing():
    pricing = ActivityPricing(
        price_per_unit=D("0.001"),
        volume_pricing_enabled=False,
        tiers=SEED_TOKENS.tiers,
    )
    assert calculate_cost(pricing, 25000).breakdown == {
        "base_agent_fee": D("0.00"),
        "usage_cost": D("25.00"),
        "total": D("25.00"),
    }


def test_negative_units_are_refused():
    with pytest.raises(PricingInputError) as error:
        calculate_cost(SEED_TOKENS, D("-1"), 1)
    assert (error.value.field, error.value.message) == (
        "units",
        "Must not be negative.",
    )


def test_float_units_are_refused():
    with pytest.raises(PricingInputError) as error:
        calculate_cost(SEED_TOKENS, 1.5, 1)
    assert error.value.message == "Must be a Decimal or int, not float."


def test_hybrid_model_prices_each_activity_with_its_own_units():
    pricing = ModelPricing(
        model_type="hybrid",
        subscription_fee=D("99"),
        activities=(GPT_TOKENS, API_CALLS),
    )
    result = calculate_model_cost(pricing, {"gpt_tokens": 15000, "api_calls": 100}, 2)
    assert result.breakdown == {
        "subscription_fee": D("99.00"),
        "gpt_tokens.base_agent_fee": D("30.00"),
        "gpt_tokens.tier_1_cost": D("7.50"),
        "gpt_tokens.tier_2_cost": D("10.00"),
        "api_calls.base_agent_fee": D("0.00"),
        "api_calls.usage_cost": D("10.00"),
        "total": D("156.50"),
    }


def test_hybrid_model_refuses_an_unknown_activity_type():
    pricing = ModelPricing(model_type="hybrid", activities=(API_CALLS,))
    with pytest.raises(PricingInputError) as error:
        calculate_model_cost(pricing, {"tokens": 5})
    assert error.value.message == "No active pricing for activity type 'tokens'."


def test_subscription_model_is_its_fee():
    pricing = ModelPricing(model_type="subscription", subscription_fee=D("49.9"))
    assert calculate_model_cost(pricing, 0).breakdown == {
        "subscription_fee": D("49.90"),
        "total": D("49.90"),
    }


def test_tier_problems_name_each_field():
    problems = tier_problems(
        [
            Tier(D(0), D("1")),
            Tier(None, D("-1")),
            Tier(D(500), D("1"), D("-2")),
            Tier(D(400), D("1")),
        ]
    )
    assert problems == [
        (0, "up_to", "Must be a positive number of units."),
        (1, "up_to", "Only the last tier may be open-ended."),
        (1, "unit_price", "Must not be negative."),
        (2, "flat_fee", "Must not be negative."),
        (3, "up_to", "Must be greater than the previous tier's threshold (500)."),
    ]


def test_tiers_without_volume_pricing_are_a_problem():
    assert tier_problems([Tier(D(5), D(1))], volume_pricing_enabled=False) == [
        (None, "tiers", "Tiers apply only when volume pricing is enabled.")
    ]


def test_describe_tiers_is_compact():
    assert describe_tiers(SEED_TOKENS) == (
        "0-10k @0.0008 | 10k-50k @0.0006 | 50k-100k @0.0004 | 100k+ @0.001"
    )
    assert describe_tiers(API_CALLS) == "0+ @0.1"


# Property tests ---------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=5, places=8, allow_nan=False)
fees = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False)
quantities = st.decimals(min_value=0, max_value=10**7, places=6, allow_nan=False)


@st.composite
def activity_pricings(draw, mode=None):
    mode = st.sampled_from(["graduated", "volume"]) if mode is None else mode
    bounds = sorted(
        draw(
            st.sets(
                st.decimals(min_value=1, max_value=10**6, places=3, allow_nan=False),
                max_size=6,
            )
        )
    )
    tiers = tuple(Tier(bound, draw(prices), draw(fees)) for bound in bounds)
    if tiers and draw(st.booleans()):
        tiers = (*tiers, Tier(None, draw(prices), draw(fees)))
    return ActivityPricing(
        price_per_unit=draw(prices),
        base_agent_fee=draw(fees),
        volume_pricing_enabled=draw(st.booleans()),
        tier_mode=draw(mode),
        tiers=tiers,
        minimum_charge=draw(fees),
    )


@given(
    activity_pricings(mode=st.just("graduated")),
    quantities,
    quantities,
    st.integers(0, 50),
)
def test_graduated_total_never_decreases_as_units_grow(pricing, a, b, agents):
    low, high = sorted([a, b])
    assert (
        calculate_cost(pricing, low, agents).total
        <= calculate_cost(pricing, high, agents).total
    )


@given(activity_pricings(), quantities, st.integers(0, 50))
def test_breakdown_items_sum_to_the_total_as_decimals(pricing, units, agents):
    result = calculate_cost(pricing, units, agents)
    assert isinstance(result.total, Decimal)
    assert all(isinstance(line.amount, Decimal) for line in result.lines)
    assert sum(line.amount for line in result.lines) == result.total
    assert result.total.as_tuple().exponent == -2
    assert result.total >= pricing.minimum_charge


@given(activity_pricings(mode=st.just("graduated")), quantities)
def test_graduated_lines_cover_every_unit_once(pricing, units):
    result = calculate_cost(pricing, units, 0)
    usage = [line for line in result.lines if line.key.endswith("_cost")]
    assert sum((line.units for line in usage), Decimal(0)) == units


def test_lines_carry_their_kind_and_tier_band():
    result = calculate_cost(SEED_TOKENS, D(60000), agents=1)
    assert [
        (line.kind, line.activity_type, line.tier, line.lower, line.upper, line.units)
        for line in result.lines
    ] == [
        ("base_agent_fee", "tokens", None, None, None, D(1)),
        ("tier", "tokens", 1, D(0), D(10000), D(10000)),
        ("tier", "tokens", 2, D(10000), D(50000), D(40000)),
        ("tier", "tokens", 3, D(50000), D(100000), D(10000)),
    ]
    above = calculate_cost(SEED_TOKENS, D(100001)).lines[-1]
    assert (above.key, above.kind, above.tier, above.lower, above.upper) == (
        "overflow_cost", "overflow", 4, D(100000), None,
    )  # fmt: skip
