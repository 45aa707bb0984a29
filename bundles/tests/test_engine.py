from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_site.money import quantize_money
from bundles.engine import (
    ALGORITHMIC,
    TEMPLATE,
    CustomerSignals,
    EngineSettings,
    TemplateLine,
    TemplateSpec,
    combine,
    match_templates,
    price_bundle,
    propose_bundle,
    reasons_for,
)

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

DAY = 86_400
MONTH = 30 * DAY

PRICES = {
    "image.resize": Decimal("0.02"),
    "image.crop": Decimal("0.015"),
    "image.convert": Decimal("0.03"),
    "export.csv": Decimal("0.10"),
    "export.pdf": Decimal("0.25"),
}

IMAGE_SUITE = TemplateSpec(
    key=1,
    name="Image Processing Suite",
    lines=(
        TemplateLine("image.resize", Decimal("1000")),
        TemplateLine("image.crop", Decimal("500")),
        TemplateLine("image.convert", Decimal("200")),
    ),
    discount_percent=Decimal("20"),
    target_tags={"heavy:image.*": Decimal("1")},
    target_segments={"Image-heavy batch users": Decimal("1")},
)
EXPORT_PACKAGE = TemplateSpec(
    key=2,
    name="Data Export Package",
    lines=(
        TemplateLine("export.csv", Decimal("100")),
        TemplateLine("export.pdf", Decimal("50")),
    ),
    discount_percent=Decimal("15"),
    target_tags={"export-power-user": Decimal("1")},
)


def image_customer(**predicted) -> CustomerSignals:
    counts = {
        "image.resize": Decimal("1000"),
        "image.crop": Decimal("450"),
        "image.convert": Decimal("150"),
        "export.csv": Decimal("5"),
    }
    counts.update({k.replace("_", "."): Decimal(v) for k, v in predicted.items()})
    return CustomerSignals(
        tags={"heavy:image.resize": 0.9, "night-owl": 0.4},
        segment="Image-heavy batch users",
        predicted_counts=counts,
        horizon_seconds=MONTH,
    )


def test_image_heavy_customer_gets_the_image_suite_priced_exactly():
    proposal = propose_bundle(
        image_customer(), [IMAGE_SUITE, EXPORT_PACKAGE], PRICES, EngineSettings()
    )

    assert [m.template.name for m in proposal.matches] == ["Image Processing Suite"]
    # export.csv gets no algorithmic line: 6 CSVs (5 predicted + 10%, rounded up)
    # would cost 6 x 0.10 x 0.8 x 1.05 = 0.504 for 0.50 of predicted use.
    assert [
        (line.operation, line.included_quantity, line.source) for line in proposal.lines
    ] == [
        ("image.convert", Decimal("200"), TEMPLATE),
        ("image.crop", Decimal("500"), TEMPLATE),
        ("image.resize", Decimal("1000"), TEMPLATE),
    ]
    # 200 x 0.03 + 500 x 0.015 + 1000 x 0.02
    assert proposal.list_value == Decimal("33.50")
    assert proposal.discount == Decimal("6.70")
    # 5% of 26.80
    assert proposal.upsell == Decimal("1.34")
    assert proposal.price == Decimal("28.14")
    # 150 x 0.03 + 450 x 0.015 + 1000 x 0.02
    assert proposal.predicted_cost == Decimal("31.25")
    assert proposal.expected_saving == Decimal("3.11")
    assert proposal.validity == "month"


def test_match_scores_combine_targeting_and_coverage():
    matches = match_templates(
        image_customer(), [IMAGE_SUITE, EXPORT_PACKAGE], Decimal("0")
    )

    image, export = matches
    assert image.coverage == Fraction(1 + Fraction(9, 10) + Fraction(3, 4), 3)
    assert image.targeting == Fraction(19, 20)
    assert image.score == (image.targeting + image.coverage) / 2
    assert image.matched_tags == ("heavy:image.resize",)
    assert image.matched_segment == "Image-heavy batch users"
    assert export.coverage == Fraction(1, 40)
    assert export.targeting == 0


def test_segment_targets_are_patterns():
    spec = TemplateSpec(
        key=1,
        name="Images",
        lines=(TemplateLine("image.resize", Decimal("1000")),),
        target_segments={"Image-heavy*": Decimal("1"), "Export*": Decimal("1")},
    )

    (match,) = match_templates(image_customer(), [spec], Decimal("0"))

    assert match.targeting == Fraction(1, 2)
    assert match.matched_segment == "Image-heavy batch users"


def test_no_offer_when_price_would_exceed_predicted_cost():
    light = image_customer(image_resize="900", image_crop="400", image_convert="0")

    assert propose_bundle(light, [IMAGE_SUITE], PRICES, EngineSettings()) is None


def test_template_without_targets_matches_on_predicted_operations_alone():
    untargeted = TemplateSpec(
        key=3,
        name="Exports",
        lines=(TemplateLine("export.csv", Decimal("100")),),
        discount_percent=Decimal("30"),
    )
    signals = CustomerSignals(
        tags={}, segment=None, predicted_counts={"export.csv": Decimal("90")}
    )

    proposal = propose_bundle(signals, [untargeted], PRICES, EngineSettings())

    assert proposal.matches[0].score == Fraction(9, 10)
    assert proposal.list_value == Decimal("10.00")
    assert proposal.discount == Decimal("3.00")
    assert proposal.upsell == Decimal("0.35")
    assert proposal.price == Decimal("7.35")
    assert proposal.expected_saving == Decimal("1.65")


def test_customer_with_no_predicted_use_of_a_template_never_matches_it():
    signals = CustomerSignals(
        tags={"export-power-user": 1.0},
        segment=None,
        predicted_counts={"image.resize": Decimal("10")},
    )

    assert match_templates(signals, [EXPORT_PACKAGE], Decimal("0")) == []


def test_overlapping_lines_keep_the_larger_or_unlimited_quantity():
    small = TemplateSpec(
        key=1, name="A", lines=(TemplateLine("image.resize", Decimal("100")),)
    )
    large = TemplateSpec(
        key=2,
        name="B",
        lines=(
            TemplateLine("image.resize", Decimal("300")),
            TemplateLine("image.crop", Decimal("10")),
        ),
    )
    unlimited = TemplateSpec(key=3, name="C", lines=(TemplateLine("image.crop", None),))
    signals = CustomerSignals(
        tags={},
        segment=None,
        predicted_counts={"image.resize": Decimal("100"), "image.crop": Decimal("50")},
    )
    matches = match_templates(signals, [small, large, unlimited], Decimal("0"))

    _, lines = combine(matches, signals, PRICES, EngineSettings())

    assert [
        (line.operation, line.included_quantity, line.template_key) for line in lines
    ] == [
        ("image.crop", None, 3),
        ("image.resize", Decimal("300"), 2),
    ]
    # The unlimited line is valued at the predicted quantity.
    assert lines[0].list_value == Decimal("50") * Decimal("0.015")


def test_bundle_size_is_capped_keeping_the_most_valuable_lines():
    signals = CustomerSignals(
        tags={},
        segment=None,
        predicted_counts={
            "image.resize": Decimal("1000"),  # 20.00 of predicted use
            "export.pdf": Decimal("10"),  # 2.50
            "export.csv": Decimal("100"),  # 10.00
        },
    )
    template = TemplateSpec(
        key=1, name="Pdf", lines=(TemplateLine("export.pdf", Decimal("20")),)
    )
    matches = match_templates(signals, [template], Decimal("0"))

    _, lines = combine(matches, signals, PRICES, EngineSettings(max_lines=2))

    assert [line.operation for line in lines] == ["export.csv", "image.resize"]


def test_algorithmic_lines_are_predicted_plus_margin_rounded_up():
    signals = CustomerSignals(
        tags={},
        segment=None,
        predicted_counts={"export.pdf": Decimal("10"), "export.csv": Decimal("41")},
    )
    template = TemplateSpec(
        key=1, name="Pdf", lines=(TemplateLine("export.pdf", Decimal("10")),)
    )
    matches = match_templates(signals, [template], Decimal("0"))

    _, lines = combine(
        matches,
        signals,
        PRICES,
        EngineSettings(
            quantity_margin_percent=Decimal("20"),
            algorithmic_discount_percent=Decimal("30"),
        ),
    )

    # 41 x 1.2 = 49.2 -> 50 whole units
    assert lines[0].operation == "export.csv"
    assert lines[0].included_quantity == Decimal("50")
    assert lines[0].source == ALGORITHMIC


def test_algorithmic_line_costing_more_than_its_use_is_left_out():
    signals = CustomerSignals(
        tags={},
        segment=None,
        predicted_counts={"export.pdf": Decimal("10"), "export.csv": Decimal("0.3")},
    )
    template = TemplateSpec(
        key=1, name="Pdf", lines=(TemplateLine("export.pdf", Decimal("10")),)
    )
    matches = match_templates(signals, [template], Decimal("0"))

    _, lines = combine(matches, signals, PRICES, EngineSettings())

    # One whole CSV (0.08 after discount and upsell) for 0.03 of predicted use.
    assert [line.operation for line in lines] == ["export.pdf"]


def test_operations_without_a_price_are_left_out():
    signals = CustomerSignals(
        tags={}, segment=None, predicted_counts={"free.op": Decimal("10")}
    )
    template = TemplateSpec(
        key=1, name="Free", lines=(TemplateLine("free.op", Decimal("10")),)
    )

    assert propose_bundle(signals, [template], PRICES, EngineSettings()) is None


def test_fixed_price_template_costs_its_fixed_price():
    fixed = TemplateSpec(
        key=1,
        name="Fixed",
        lines=(TemplateLine("export.csv", Decimal("100")),),
        fixed_price=Decimal("7.00"),
    )
    signals = CustomerSignals(
        tags={}, segment=None, predicted_counts={"export.csv": Decimal("95")}
    )

    proposal = propose_bundle(
        signals, [fixed], PRICES, EngineSettings(upsell_percent=Decimal("0"))
    )

    assert proposal.list_value == Decimal("10.00")
    assert proposal.discount == Decimal("3.00")
    assert proposal.price == Decimal("7.00")
    assert proposal.expected_saving == Decimal("2.50")


def test_predictions_are_scaled_to_the_template_validity():
    daily = TemplateSpec(
        key=1,
        name="Daily exports",
        lines=(TemplateLine("export.csv", Decimal("10")),),
        discount_percent=Decimal("50"),
        validity="day",
        validity_seconds=DAY,
    )
    signals = CustomerSignals(
        tags={},
        segment=None,
        predicted_counts={"export.csv": Decimal("300")},
        horizon_seconds=MONTH,
    )

    proposal = propose_bundle(signals, [daily], PRICES, EngineSettings())

    assert proposal.validity == "day"
    assert proposal.lines[0].predicted_quantity == Decimal("10")
    assert proposal.predicted_cost == Decimal("1.00")
    assert proposal.price == Decimal("0.53")


def test_only_matches_sharing_the_best_validity_are_merged():
    daily = TemplateSpec(
        key=1,
        name="Daily",
        lines=(TemplateLine("export.csv", Decimal("1")),),
        validity="day",
        validity_seconds=DAY,
    )
    monthly = TemplateSpec(
        key=2, name="Monthly", lines=(TemplateLine("export.pdf", Decimal("100")),)
    )
    signals = CustomerSignals(
        tags={},
        segment=None,
        predicted_counts={"export.csv": Decimal("300"), "export.pdf": Decimal("50")},
    )
    matches = match_templates(signals, [daily, monthly], Decimal("0"))

    merged, _ = combine(matches, signals, PRICES, EngineSettings())

    assert [m.template.name for m in merged] == ["Daily"]


def test_reasons_name_templates_tags_and_saving():
    signals = image_customer()
    proposal = propose_bundle(signals, [IMAGE_SUITE], PRICES, EngineSettings())

    reasons = reasons_for(proposal, signals)

    assert reasons["templates"][0]["name"] == "Image Processing Suite"
    assert reasons["templates"][0]["tags"] == ["heavy:image.resize"]
    assert reasons["algorithmic_lines"] == []
    assert reasons["expected_saving"] == "3.11"
    assert reasons["predictions"]["image.crop"] == "450.00"


OPERATIONS = ["a", "b", "c", "d", "e"]
quantities = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2)
unit_prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("5"), places=6)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)


@st.composite
def templates(draw, key):
    operations = draw(st.lists(st.sampled_from(OPERATIONS), min_size=1, unique=True))
    lines = tuple(
        TemplateLine(
            op, draw(st.none() | st.decimals(min_value=1, max_value=10000, places=0))
        )
        for op in operations
    )
    fixed = draw(st.booleans())
    return TemplateSpec(
        key=key,
        name=f"T{key}",
        lines=lines,
        discount_percent=None if fixed else draw(percents),
        fixed_price=draw(quantities) if fixed else None,
        validity_seconds=draw(st.sampled_from([DAY, 7 * DAY, MONTH])),
        target_tags=draw(
            st.dictionaries(st.sampled_from(["x", "y*"]), st.just(Decimal("1")))
        ),
    )


@settings(max_examples=300, deadline=None)
@given(
    predicted=st.dictionaries(st.sampled_from(OPERATIONS), quantities),
    prices=st.dictionaries(st.sampled_from(OPERATIONS), unit_prices),
    specs=st.lists(st.integers(0, 10_000), min_size=1, max_size=4).flatmap(
        lambda keys: st.tuples(*[templates(i) for i in range(len(keys))])
    ),
    tags=st.dictionaries(st.sampled_from(["x", "yes", "z"]), st.floats(0, 1)),
    upsell=st.decimals(min_value=Decimal("0"), max_value=Decimal("20"), places=2),
    margin=percents,
    algorithmic=percents,
    max_lines=st.integers(1, 6),
    threshold=st.decimals(min_value=0, max_value=1, places=2),
)
def test_no_offer_ever_costs_more_than_predicted_pay_per_operation(
    predicted, prices, specs, tags, upsell, margin, algorithmic, max_lines, threshold
):
    settings_ = EngineSettings(
        threshold=threshold,
        upsell_percent=upsell,
        quantity_margin_percent=margin,
        algorithmic_discount_percent=algorithmic,
        max_lines=max_lines,
    )
    signals = CustomerSignals(tags=tags, segment=None, predicted_counts=predicted)

    proposal = propose_bundle(signals, specs, prices, settings_)

    if proposal is None:
        return
    scale = Fraction(proposal.validity_seconds, signals.horizon_seconds)
    pay_per_operation = sum(
        (
            Fraction(prices[line.operation])
            * (
                Fraction(predicted.get(line.operation, 0)) * scale
                if line.included_quantity is None
                else min(
                    Fraction(predicted.get(line.operation, 0)) * scale,
                    Fraction(line.included_quantity),
                )
            )
            for line in proposal.lines
        ),
        Fraction(0),
    )
    expected_cost = quantize_money(
        Decimal(pay_per_operation.numerator) / Decimal(pay_per_operation.denominator),
        "USD",
    )
    assert proposal.predicted_cost == expected_cost
    assert proposal.price < expected_cost
    assert proposal.expected_saving == expected_cost - proposal.price
    assert proposal.expected_saving > 0
    assert proposal.list_value - proposal.discount + proposal.upsell == proposal.price
    assert proposal.price >= 0
    assert len(proposal.lines) <= max_lines
    assert len({line.operation for line in proposal.lines}) == len(proposal.lines)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(OPERATIONS),
            st.none() | st.decimals(min_value=1, max_value=1000, places=0),
            quantities,
            unit_prices,
        ),
        max_size=5,
        unique_by=lambda t: t[0],
    ),
    upsell=percents,
)
def test_breakdown_always_adds_up_to_the_price(lines, upsell):
    from bundles.engine import BundleLine

    bundle_lines = [
        BundleLine(op, included, price, predicted, TEMPLATE, 1, Fraction(1, 3))
        for op, included, predicted, price in lines
    ]

    priced = price_bundle(bundle_lines, EngineSettings(upsell_percent=upsell))

    assert priced.list_value - priced.discount + priced.upsell == priced.price
    assert priced.expected_saving == priced.predicted_cost - priced.price
