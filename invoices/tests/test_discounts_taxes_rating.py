"""Discount and tax rules of rating: coupons on the eligible lines, capped, and
one tax line per rate on the amount after discounts, inclusive or exclusive."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from invoices import rating
from pricing import engine as pricing_engine

VAT = rating.TaxTerms("tax_rate:1", "VAT", Decimal("20"))
VAT_INCLUDED = rating.TaxTerms("tax_rate:2", "MwSt", Decimal("19"), inclusive=True)


def _rate(**terms) -> rating.Rating:
    return rating.rate(
        rating.RatingInput(
            currency="EUR",
            usage={"image.resize": Decimal("100"), "pdf.export": Decimal("10")},
            operation_prices={
                "image.resize": Decimal("0.80"),
                "pdf.export": Decimal("2.00"),
            },
            **terms,
        )
    )


def _figures(result: rating.Rating) -> tuple:
    return (
        result.subtotal,
        result.discount_total,
        result.tax_total,
        result.total,
        result.amount_due,
    )


def test_percent_coupon_then_exclusive_tax_on_the_discounted_amount():
    result = _rate(
        discounts=(
            rating.DiscountTerms("coupon_redemption:1", "SPRING20", Decimal("20")),
        ),
        taxes=(VAT,),
    )
    assert [(line.kind, line.description, line.amount) for line in result.lines] == [
        ("overage", "image.resize", Decimal("80.00")),
        ("overage", "pdf.export", Decimal("20.00")),
        ("discount", "Coupon SPRING20: 20% off", Decimal("-20.00")),
        ("tax", "VAT 20% on 80.00", Decimal("16.00")),
    ]
    assert _figures(result) == (
        Decimal("100.00"),
        Decimal("20.00"),
        Decimal("16.00"),
        Decimal("96.00"),
        Decimal("96.00"),
    )


def test_inclusive_tax_is_inside_the_amounts_and_out_of_the_subtotal():
    result = _rate(taxes=(VAT_INCLUDED,))
    tax = result.lines[-1]
    assert (tax.kind, tax.description, tax.amount) == (
        "tax_included",
        "MwSt 19% included in 100.00",
        Decimal("15.97"),  # 100 - 100 / 1.19 = 15.966...
    )
    assert _figures(result) == (
        Decimal("84.03"),
        Decimal("0"),
        Decimal("15.97"),
        Decimal("100.00"),
        Decimal("100.00"),
    )


def test_coupon_limited_to_operations_discounts_only_their_lines():
    result = _rate(
        discounts=(
            rating.DiscountTerms(
                "coupon_redemption:1",
                "PDF50",
                Decimal("50"),
                operations=frozenset({"pdf.export"}),
            ),
        )
    )
    assert result.lines[-1].amount == Decimal("-10.00")
    assert result.lines[-1].description == "Coupon PDF50: 50% off (pdf.export)"
    assert result.total == Decimal("90.00")


def test_coupon_on_an_operation_covers_the_billing_model_activity_it_is_priced_in():
    result = rating.rate(
        rating.RatingInput(
            currency="EUR",
            usage={"api.call": Decimal("1000")},
            activity_of={"api.call": "api_calls"},
            activities=(
                rating.ActivityTerms(
                    pricing=pricing_engine.ActivityPricing(
                        activity_type="api_calls", price_per_unit=Decimal("0.01")
                    )
                ),
            ),
            discounts=(
                rating.DiscountTerms(
                    "coupon_redemption:1",
                    "API",
                    Decimal("10"),
                    operations=frozenset({"api.call"}),
                ),
            ),
        )
    )
    assert [line.amount for line in result.lines] == [
        Decimal("10.00"),
        Decimal("-1.00"),
    ]


def test_amount_off_is_capped_at_the_eligible_amount():
    result = _rate(
        discounts=(
            rating.DiscountTerms(
                "coupon_redemption:1",
                "TENNER",
                amount_off=Decimal("50.00"),
                operations=frozenset({"pdf.export"}),
            ),
        )
    )
    assert result.lines[-1].amount == Decimal("-20.00")
    assert result.lines[-1].description == "Coupon TENNER: 50.00 off (pdf.export)"
    assert (result.discount_total, result.total) == (Decimal("20.00"), Decimal("80.00"))


def test_second_coupon_takes_only_what_the_first_left():
    result = _rate(
        discounts=(
            rating.DiscountTerms("coupon_redemption:1", "A", Decimal("80")),
            rating.DiscountTerms("coupon_redemption:2", "B", amount_off=Decimal("30")),
        )
    )
    assert [line.amount for line in result.lines[2:]] == [
        Decimal("-80.00"),
        Decimal("-20.00"),
    ]
    assert result.total == Decimal("0.00")


def test_tax_lines_round_half_up_per_line():
    result = rating.rate(
        rating.RatingInput(
            currency="EUR",
            usage={"a": Decimal("1")},
            operation_prices={"a": Decimal("0.25")},
            taxes=(
                rating.TaxTerms("tax_rate:1", "Levy", Decimal("10")),
                rating.TaxTerms("tax_rate:2", "Other", Decimal("30")),
            ),
        )
    )
    # 0.25 x 10 % = 0.025 -> 0.03; 0.25 x 30 % = 0.075 -> 0.08
    assert [line.amount for line in result.lines[1:]] == [
        Decimal("0.03"),
        Decimal("0.08"),
    ]
    assert result.total == Decimal("0.36")


def test_no_lines_no_tax_and_no_discount():
    result = rating.rate(
        rating.RatingInput(
            currency="EUR",
            discounts=(rating.DiscountTerms("coupon_redemption:1", "A", Decimal("5")),),
            taxes=(VAT,),
        )
    )
    assert result.lines == ()


@given(
    prices=st.lists(
        st.decimals(min_value=0, max_value=10000, places=2), min_size=1, max_size=5
    ),
    percent=st.decimals(min_value="0.0001", max_value=100, places=4),
    rate_percent=st.decimals(min_value=0, max_value=100, places=4),
    inclusive=st.booleans(),
)
def test_the_figures_add_up_to_the_total(prices, percent, rate_percent, inclusive):
    result = rating.rate(
        rating.RatingInput(
            currency="EUR",
            usage={f"op{i}": Decimal(1) for i in range(len(prices))},
            operation_prices={f"op{i}": price for i, price in enumerate(prices)},
            discounts=(rating.DiscountTerms("coupon_redemption:1", "X", percent),),
            taxes=(rating.TaxTerms("tax_rate:1", "T", rate_percent, inclusive),),
        )
    )
    assert result.subtotal - result.discount_total + result.tax_total == result.total
    assert result.total == sum(
        line.amount for line in result.lines if line.kind not in rating.NOT_IN_TOTAL
    )
    assert Decimal(0) <= result.discount_total <= result.charges
