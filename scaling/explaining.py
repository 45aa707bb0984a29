"""Plain-language sentences for customers: why a plan change is recommended and how
accurate the account's forecasts have been.

Pure calculation (no ORM, no settings, no clock): plain values in, a sentence out.
Staff pages keep the technical figures (MASE, sMAPE, coverage); customers read these.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

# Resource codes the product knows by name; any other code reads with spaces.
RESOURCE_NAMES = {
    "bandwidth_gb": "bandwidth (GB)",
    "storage_gb": "storage (GB)",
    "compute_hours": "compute hours",
}


def resource_name(resource: str) -> str:
    return RESOURCE_NAMES.get(resource, resource.replace("_", " ").replace(".", " "))


def plain_quantity(value: Decimal | float | int) -> str:
    """A capacity or forecast figure as a customer reads it: whole units from 10
    up, one decimal below, thousands separated, no trailing zeros."""
    number = Decimal(str(value))
    places = 0 if abs(number) >= 10 else 1
    text = f"{number:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def recommendation_reason(
    *,
    resource: str,
    upgrade: bool,
    points: Sequence[tuple[datetime, float]],
    capacity: Decimal | None,
    peak: float,
) -> str:
    """Why the change is recommended, in one sentence.

    ``points`` are the driving resource's forecast as (time, upper 95 % bound), the
    figure the recommendation planned for; ``capacity`` is the current plan's
    capacity of that resource (None without a plan); ``peak`` the need planned for
    (the highest bound, or a scheduled floor when higher).
    """
    name = resource_name(resource)
    if capacity is None:
        return (
            f"Your use of {name} is forecast to reach {plain_quantity(peak)}; "
            "the recommended plan covers that."
        )
    if upgrade:
        crossing = next((at for at, value in points if value > capacity), None)
        if crossing is not None:
            return (
                f"Your use of {name} is forecast to exceed your plan's "
                f"{plain_quantity(capacity)} on {_day(crossing)}."
            )
        return (
            f"Your use of {name} is expected to reach {plain_quantity(peak)}, more "
            f"than your plan's {plain_quantity(capacity)}."
        )
    return (
        f"Your use of {name} has stayed well below your plan's "
        f"{plain_quantity(capacity)} and is forecast to peak at "
        f"{plain_quantity(peak)}; a smaller plan covers that for less."
    )


def forecast_accuracy_sentence(errors_percent: Iterable[float | None]) -> str:
    """How close the account's forecasts came to actual usage when tested against
    its past, in one sentence.

    ``errors_percent`` are the backtests' mean percentage errors (sMAPE), one per
    forecast resource; the sentence quotes the largest, rounded up to a whole
    percent, so it never claims more accuracy than any forecast achieved.
    """
    known = [error for error in errors_percent if error is not None]
    if not known:
        return (
            "We do not have enough history yet to say how accurate our forecasts "
            "for this account are."
        )
    worst = math.ceil(max(known))
    return (
        f"Our forecasts for this account have been within about {worst} % of "
        "actual usage."
    )
