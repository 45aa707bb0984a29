from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from invoices import rating
from pricing.engine import ActivityPricing, Tier

TOKENS = ActivityPricing(
    price_per_unit=Decimal("0.001"),
    activity_type="tokens",
    base_agent_fee=Decimal("10.00"),
    volume_pricing_enabled=True,
    tiers=(
        Tier(up_to=Decimal("10000"), unit_price=Decimal("0.0008")),
        Tier(up_to=Decimal("50000"), unit_price=Decimal("0.0006")),
    ),
    minimum_charge=Decimal("5.00"),
)


def test_seed_token_example_25000_tokens_two_agents():
    result = rating.rate(
        rating.RatingInput(
            currency="USD",
            usage={"tokens": Decimal("25000")},
            activities=(rating.ActivityTerms(pricing=TOKENS),),
            agents=2,
        )
    )
    assert [(line.kind, line.amount) for line in result.lines] == [
        ("base_fee", Decimal("20.00")),
        ("tier", Decimal("8.00")),
        ("tier", Decimal("9.00")),
    ]
    assert result.total == Decimal("37.00")


def test_bundle_covers_included_quantity_and_unlimited_lines():
    result = rating.rate(
        rating.RatingInput(
            currency="USD",
            usage={"a": Decimal("150"), "b": Decimal("999999")},
            bundles=(
                rating.BundleTerms(
                    reference="bundle:1",
                    name="Pack",
                    price=Decimal("9.99"),
                    included={"a": Decimal("100"), "b": None},
                ),
            ),
            operation_prices={"a": Decimal("0.03"), "b": Decimal("1")},
        )
    )
    assert [(line.kind, line.quantity, line.amount) for line in result.lines] == [
        ("bundle", Decimal(1), Decimal("9.99")),
        ("bundled_usage", Decimal("100"), Decimal("0.00")),
        ("bundled_usage", Decimal("999999"), Decimal("0.00")),
        ("overage", Decimal("50"), Decimal("1.50")),
    ]
    assert result.total == Decimal("11.49")
    assert result.out_of_bundle == {"a": Decimal("50")}


def test_unpriced_usage_is_reported_not_charged():
    result = rating.rate(
        rating.RatingInput(currency="USD", usage={"mystery": Decimal("4")})
    )
    assert result.lines == ()
    assert result.total == Decimal("0")
    assert result.unpriced == {"mystery": Decimal("4")}


def test_billing_model_takes_precedence_over_operation_price():
    result = rating.rate(
        rating.RatingInput(
            currency="USD",
            usage={"tokens.gen": Decimal("100")},
            activity_of={"tokens.gen": "tokens"},
            operation_prices={"tokens.gen": Decimal("5")},
            activities=(rating.ActivityTerms(pricing=TOKENS),),
        )
    )
    assert [line.kind for line in result.lines] == ["tier", "minimum_charge"]
    assert result.total == Decimal("5.00")


def test_markup_is_rounded_once_per_charge():
    result = rating.rate(
        rating.RatingInput(
            currency="USD",
            provider_charges=(
                rating.ProviderChargeItem(
                    "provider_charge:1", "P", "x", Decimal("0.05")
                ),
            ),
            markup_percent=Decimal("12.5"),
        )
    )
    (line,) = result.lines
    assert (line.unit_price, line.amount) == (Decimal("0.05625"), Decimal("0.06"))


def test_adjustments_count_in_total_not_subtotal():
    result = rating.rate(
        rating.RatingInput(
            currency="USD",
            usage={"a": Decimal("1")},
            operation_prices={"a": Decimal("2")},
            adjustments=(rating.Adjustment("invoice:1", "Late", Decimal("-0.505")),),
        )
    )
    assert (result.subtotal, result.total) == (Decimal("2.00"), Decimal("1.49"))


quantities = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("100000"), places=3, allow_nan=False
)
prices = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("5"), places=6, allow_nan=False
)


@settings(max_examples=200, deadline=None)
@given(
    usage=st.dictionaries(st.sampled_from(["a", "b", "c", "tokens"]), quantities),
    included=st.dictionaries(
        st.sampled_from(["a", "b", "c"]), st.one_of(st.none(), quantities)
    ),
    price_a=prices,
    price_b=prices,
    agents=st.integers(min_value=0, max_value=50),
    markup=st.decimals(min_value=Decimal("0"), max_value=Decimal("50"), places=2),
)
def test_lines_add_up_and_are_rounded_once(
    usage, included, price_a, price_b, agents, markup
):
    result = rating.rate(
        rating.RatingInput(
            currency="USD",
            usage=usage,
            bundles=(rating.BundleTerms("bundle:1", "B", Decimal("10.00"), included),),
            operation_prices={"a": price_a, "b": price_b},
            activities=(rating.ActivityTerms(pricing=TOKENS),),
            agents=agents,
            provider_charges=(
                rating.ProviderChargeItem(
                    "provider_charge:1", "P", "", Decimal("3.33")
                ),
            ),
            markup_percent=markup,
        )
    )
    assert result.total == sum(line.amount for line in result.lines)
    assert all(
        line.amount == line.amount.quantize(Decimal("0.01")) for line in result.lines
    )
    # Every unit is either covered by the bundle, charged, or reported unpriced.
    for code, units in usage.items():
        if code == "tokens":
            continue
        accounted = sum(
            line.quantity
            for line in result.lines
            if line.operation == code and line.kind in ("bundled_usage", "overage")
        ) + result.unpriced.get(code, Decimal(0))
        assert accounted == units
    covered = {
        line.operation: line.amount
        for line in result.lines
        if line.kind == "bundled_usage"
    }
    assert all(amount == 0 for amount in covered.values())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), quantities), max_size=30))
def test_rating_depends_only_on_totals_per_operation(events):
    """Splitting usage into events in any order gives the same invoice."""
    totals: dict[str, Decimal] = {}
    for code, units in events:
        totals[code] = totals.get(code, Decimal(0)) + units
    reordered: dict[str, Decimal] = {}
    for code, units in reversed(events):
        reordered[code] = reordered.get(code, Decimal(0)) + units

    def total(usage):
        return rating.rate(
            rating.RatingInput(
                currency="USD",
                usage=usage,
                operation_prices={"a": Decimal("0.0133")},
                activity_of={"b": "tokens"},
                activities=(rating.ActivityTerms(pricing=TOKENS),),
            )
        ).total

    assert total(totals) == total(reordered)
