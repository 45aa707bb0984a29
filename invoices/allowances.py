"""Bundle allowances in time: which usage a personalised bundle covers.

Pure calculation. The rule:

- A bundle covers only usage of its operations that occurred inside its validity
  window ``[valid_from, valid_until)``; usage before or after is charged per
  operation like any other.
- Its allowance is used up in order of occurrence, so a bundle that spans a period
  end covers usage of the first period first and carries what is left into the
  next (its price is billed once, in the period its validity starts).
- Where bundles of a customer overlap in time, usage in the overlap is covered by
  the earliest-starting bundle first, then the next.

The usage between consecutive window boundaries is lumped into one segment: every
event of a segment is inside the same bundles' windows, so the order of events
within a segment does not change what is covered.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

ZERO = Decimal(0)
UNLIMITED = Decimal("Infinity")


@dataclass(frozen=True)
class BundleWindow:
    key: int  # the bundle's id
    valid_from: datetime
    valid_until: datetime  # exclusive
    # Operation code -> units included; None means unlimited.
    included: Mapping[str, Decimal | None]


def segments(
    bundles: Sequence[BundleWindow], *, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The consecutive intervals between the bundles' window boundaries and the
    period's start, from the earliest ``valid_from`` to ``end`` (or the last
    ``valid_until`` before it), keeping only those inside at least one window."""
    boundaries = sorted(
        {moment for b in bundles for moment in (b.valid_from, b.valid_until)}
        | {start, end}
    )
    boundaries = [moment for moment in boundaries if moment <= end]
    return [
        (left, right)
        for left, right in zip(boundaries, boundaries[1:], strict=False)
        if any(b.valid_from <= left and right <= b.valid_until for b in bundles)
    ]


def covered_in_period(
    bundles: Sequence[BundleWindow],
    *,
    start: datetime,
    parts: Sequence[tuple[datetime, datetime]],
    usage: Sequence[Mapping[str, Decimal]],
) -> dict[int, dict[str, Decimal]]:
    """Bundle key -> {operation: units of the period's usage it covers}.

    ``parts`` are the bundles' ``segments`` and ``usage`` the units per operation
    of each (read for many customers at once). Segments before ``start`` only use
    up allowance.
    """
    ordered = sorted(bundles, key=lambda b: (b.valid_from, b.key))
    remaining = {
        b.key: {
            code: UNLIMITED if quantity is None else quantity
            for code, quantity in b.included.items()
        }
        for b in ordered
    }
    covered: dict[int, dict[str, Decimal]] = {b.key: {} for b in ordered}
    for (left, right), units_of in zip(parts, usage, strict=True):
        in_period = left >= start
        active = [b for b in ordered if b.valid_from <= left and right <= b.valid_until]
        for code, units in units_of.items():
            for bundle in active:
                left_over = remaining[bundle.key].get(code)
                if not left_over or not units:
                    continue
                take = min(units, left_over)
                remaining[bundle.key][code] = left_over - take
                units -= take
                if in_period:
                    of_bundle = covered[bundle.key]
                    of_bundle[code] = of_bundle.get(code, ZERO) + take
    return covered
