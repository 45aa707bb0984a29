import datetime as dt
from decimal import Decimal

import pytest

from scaling.explaining import (
    forecast_accuracy_sentence,
    plain_quantity,
    recommendation_reason,
)

pytestmark = pytest.mark.clockless  # pure text: no clock, no database

DEC_13 = dt.datetime(2026, 12, 13, tzinfo=dt.UTC)


def test_upgrade_names_the_day_the_forecast_first_exceeds_the_plan():
    points = [(DEC_13 + dt.timedelta(days=i), value) for i, value in enumerate(
        [90.0, 100.5, 130.0]
    )]  # fmt: skip

    reason = recommendation_reason(
        resource="compute_hours",
        upgrade=True,
        points=points,
        capacity=Decimal("100.0000"),
        peak=130.0,
    )

    assert reason == (
        "Your use of compute hours is forecast to exceed your plan's 100 on "
        "14 Dec 2026."
    )


def test_upgrade_driven_by_a_scheduled_floor_names_the_need():
    reason = recommendation_reason(
        resource="storage_gb",
        upgrade=True,
        points=[(DEC_13, 40.0)],
        capacity=Decimal("50"),
        peak=1250.0,
    )

    assert reason == (
        "Your use of storage (GB) is expected to reach 1,250, more than your plan's 50."
    )


def test_downgrade_and_first_plan_reasons():
    assert recommendation_reason(
        resource="compute_hours",
        upgrade=False,
        points=[(DEC_13, 20.0)],
        capacity=Decimal("200"),
        peak=20.25,
    ) == (
        "Your use of compute hours has stayed well below your plan's 200 and is "
        "forecast to peak at 20; a smaller plan covers that for less."
    )
    assert (
        recommendation_reason(
            resource="api.calls", upgrade=True, points=[], capacity=None, peak=2.5
        )
        == "Your use of api calls is forecast to reach 2.5; the recommended plan "
        "covers that."
    )


def test_reason_has_no_metric_names():
    reason = recommendation_reason(
        resource="compute_hours",
        upgrade=True,
        points=[(DEC_13, 160.0)],
        capacity=Decimal("100"),
        peak=160.0,
    )
    for word in ("MASE", "sMAPE", "95", "bound", "weekly_mean"):
        assert word not in reason


def test_accuracy_sentence_quotes_the_largest_error_rounded_up():
    assert forecast_accuracy_sentence([8.2, 11.3, None]) == (
        "Our forecasts for this account have been within about 12 % of actual usage."
    )
    assert forecast_accuracy_sentence([None]) == (
        "We do not have enough history yet to say how accurate our forecasts for "
        "this account are."
    )


def test_plain_quantity():
    assert [plain_quantity(v) for v in (Decimal("100.0000"), 2.5, 3.0, 1234.6)] == [
        "100",
        "2.5",
        "3",
        "1,235",
    ]
