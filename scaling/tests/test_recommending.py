from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling.recommending import (
    BundleOption,
    bundle_monthly_price,
    cost_benefit,
    expected_excess,
    find_best_bundle,
    forecast_confidence,
    score_bundles,
    sustained_low_utilisation,
)

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

STARTUP = BundleOption(1, "Startup", {"compute_hours": 100.0}, Decimal("59.00"))
GROWTH = BundleOption(
    2, "Growth", {"compute_hours": 200.0}, Decimal("119.00"), frozenset({"cdn"})
)
ENTERPRISE = BundleOption(
    3, "Enterprise", {"compute_hours": 1000.0}, Decimal("399.00"), frozenset({"cdn"})
)
ALL = [STARTUP, GROWTH, ENTERPRISE]


def test_bundle_price_is_base_plus_capacity_pricing_rounded_once():
    price = bundle_monthly_price(
        base_price=Decimal("49.00"),
        capacities=[
            (Decimal("100"), Decimal("0.10")),
            (Decimal("50"), Decimal("0.0333")),
        ],
        currency="USD",
    )
    assert price == Decimal("60.67")  # 49 + 10 + 1.665


def test_best_bundle_is_the_cheapest_that_fits_with_headroom():
    assert find_best_bundle(needs={"compute_hours": 160.0}, bundles=ALL) == GROWTH
    assert find_best_bundle(needs={"compute_hours": 60.0}, bundles=ALL) == STARTUP
    assert find_best_bundle(needs={"compute_hours": 900.0}, bundles=ALL) == ENTERPRISE


def test_when_nothing_fits_the_biggest_coverage_wins():
    assert find_best_bundle(needs={"compute_hours": 5000.0}, bundles=ALL) == ENTERPRISE


def test_scores_break_down_into_documented_components():
    scores = {s.bundle.name: s for s in score_bundles(
        needs={"compute_hours": 160.0}, bundles=ALL, wanted_features=frozenset({"cdn"})
    )}  # fmt: skip
    growth = scores["Growth"]
    assert growth.covers_all and growth.coverage == 1.0
    assert growth.headroom == 1 - abs(0.2 - 0.25) / 0.75
    assert growth.cost == float(Decimal("59.00") / Decimal("119.00"))
    assert growth.features == 1.0
    assert scores["Startup"].coverage == 100 / 160
    assert scores["Startup"].features == 0.0
    expected = 0.45 + 0.2 * growth.headroom + 0.25 * growth.cost + 0.1
    assert growth.score == expected


def test_no_bundles_gives_none():
    assert find_best_bundle(needs={"compute_hours": 1.0}, bundles=[]) is None


@given(st.floats(min_value=0.0, max_value=999.0))
def test_chosen_bundle_always_covers_a_need_some_bundle_covers(need):
    best = find_best_bundle(needs={"compute_hours": need}, bundles=ALL)
    assert best.capacities["compute_hours"] >= need


def test_confidence_formula():
    assert (
        forecast_confidence(
            mase=0.5, baseline_mase=1.0, smape=10.0, coverage_80=0.8, coverage_95=0.95
        )
        == 0.9
    )
    # worse than seasonal naive and 10 points under nominal 80 % coverage
    assert forecast_confidence(
        mase=2.0, baseline_mase=1.0, smape=20.0, coverage_80=0.7, coverage_95=0.95
    ) == pytest.approx(0.8 * 0.5 * 0.8)
    assert (
        forecast_confidence(
            mase=1.0, baseline_mase=1.0, smape=0.0, coverage_80=None, coverage_95=None
        )
        == 0.5
    )


def test_expected_excess_without_spread_is_the_plain_overshoot():
    yhat = np.array([10.0, 12.0, 8.0])
    assert expected_excess(yhat=yhat, lower_80=yhat, upper_80=yhat, limit=10.0) == 2.0


def test_expected_excess_at_the_mean_is_sigma_times_phi_zero():
    sigma = 2.0
    half = 1.2815515655446004 * sigma
    excess = expected_excess(
        yhat=np.array([5.0]),
        lower_80=np.array([5.0 - half]),
        upper_80=np.array([5.0 + half]),
        limit=5.0,
    )
    assert abs(excess - sigma / np.sqrt(2 * np.pi)) < 1e-12


def test_cost_benefit_adds_up():
    yhat = np.array([150.0, 150.0])
    result = cost_benefit(
        forecasts={"compute_hours": (yhat, yhat, yhat)},
        current_capacities={"compute_hours": 100.0},
        recommended_capacities={"compute_hours": 200.0},
        saturation_utilisation=0.9,
        revenue_per_unit=Decimal("2.50"),
        current_price=Decimal("59.00"),
        recommended_price=Decimal("119.00"),
        horizon_seconds=2 * 86_400,
        currency="USD",
    )
    assert result.revenue_at_risk_current == Decimal("300.00")  # 2 x 60 units x 2.50
    assert result.revenue_at_risk_recommended == Decimal("0.00")
    assert result.upgrade_cost == Decimal("4.00")  # 60.00 x 2 / 30 days
    assert result.net_benefit == Decimal("296.00")
    assert (
        result.revenue_at_risk_current
        - result.revenue_at_risk_recommended
        - result.upgrade_cost
        == result.net_benefit
    )


def test_downgrade_needs_every_resource_below_the_threshold():
    capacities = {"compute_hours": 100.0, "storage_gb": 50.0}
    assert sustained_low_utilisation(
        recent_peaks={"compute_hours": 30.0, "storage_gb": 10.0}, capacities=capacities
    )
    assert not sustained_low_utilisation(
        recent_peaks={"compute_hours": 30.0, "storage_gb": 25.0}, capacities=capacities
    )
    assert not sustained_low_utilisation(recent_peaks={}, capacities=capacities)
