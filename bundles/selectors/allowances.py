"""How much of each live bundle's allowance the customer has used so far."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bundles.models import PersonalizedBundle
from metering import selectors as metering_selectors
from metering.models import Customer


@dataclass(frozen=True)
class AllowanceUse:
    operation: str
    included: Decimal | None  # None: unlimited
    used: Decimal  # units of the operation inside the bundle's window so far
    unit_price: Decimal  # list price per unit beyond the allowance

    @property
    def beyond(self) -> Decimal:
        """Units above the allowance, charged at the list price."""
        if self.included is None:
            return Decimal(0)
        return max(self.used - self.included, Decimal(0))


def allowance_use(
    *, customer: Customer, bundles: list[PersonalizedBundle], at: dt.datetime
) -> dict[int, list[AllowanceUse]]:
    """Bundle id -> per line, the units of its operation used from the bundle's
    ``valid_from`` up to ``at`` (or its end), read through metering's usage read
    model in one statement. Bundles cover sums and counts only: an operation
    aggregated otherwise reads as unused.

    Each bundle's figure is the usage inside its own window; when two live bundles
    of one customer cover the same operation at the same time, invoicing draws on
    the one that started first, so the later one's figure is an upper bound.
    """
    if not bundles:
        return {}
    windows = [
        (
            customer.pk,
            bundle.valid_from,
            max(bundle.valid_from, min(at, bundle.valid_until)),
        )
        for bundle in bundles
    ]
    usage = metering_selectors.usage_in_windows(
        organization=customer.organization, windows=windows
    )
    return {
        bundle.pk: [
            AllowanceUse(
                operation=line.operation,
                included=line.included_quantity,
                used=used.get(line.operation, Decimal(0)),
                unit_price=line.unit_price,
            )
            for line in bundle.lines.all()
        ]
        for bundle, used in zip(bundles, usage, strict=True)
    }
