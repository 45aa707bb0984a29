"""Exact-arithmetic helpers shared by the engine modules: Fraction/Decimal
conversion and the linear scaling of predicted counts to a validity length."""

from collections.abc import Callable, Mapping
from decimal import Context, Decimal
from fractions import Fraction

from bundles.engine.types import CustomerSignals


def _fraction(value) -> Fraction:
    return Fraction(value) if not isinstance(value, float) else Fraction(str(value))


_EXACT = Context(prec=60)


def _to_decimal(value: Fraction) -> Decimal:
    if value.denominator == 1:
        return Decimal(value.numerator)
    return _EXACT.divide(Decimal(value.numerator), Decimal(value.denominator))


def scale_counts(
    counts: Mapping[str, Decimal], *, from_seconds: int, to_seconds: int
) -> dict[str, Decimal]:
    """Predicted counts over ``from_seconds`` scaled linearly to ``to_seconds``."""
    if to_seconds == from_seconds:
        return {operation: count for operation, count in counts.items() if count > 0}
    ratio = Fraction(to_seconds, from_seconds)
    return {
        operation: _to_decimal(Fraction(count) * ratio)
        for operation, count in counts.items()
        if count > 0
    }


def _scaler(signals: CustomerSignals) -> Callable[[int], dict[str, Decimal]]:
    """Predicted counts scaled to a validity length, computed once per length."""
    cache: dict[int, dict[str, Decimal]] = {}

    def scaled(seconds: int) -> dict[str, Decimal]:
        if seconds not in cache:
            cache[seconds] = scale_counts(
                signals.predicted_counts,
                from_seconds=signals.horizon_seconds,
                to_seconds=seconds,
            )
        return cache[seconds]

    return scaled
