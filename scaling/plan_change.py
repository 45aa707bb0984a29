"""What a plan change costs on the customer's next invoice.

Pure calculation (no ORM, no settings, no clock). Scaling plans are billed monthly,
per calendar month (UTC): each plan in force during the month is charged its monthly
price times the share of the month it was in force (to the microsecond), one line per
plan, each line rounded once with ``quantize_money``. This is invoicing's rule
(``invoices.rating``, the entitlement rule); scaling sits below invoicing, so the
rule is restated here and both are tested against the same figures.

The change on the next invoice is the month's plan charges with the change minus
the month's plan charges without it: for a change at ``at`` from a plan in force since
the month began, ``new x rest of month - current x rest of month``, each line rounded.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from billing_site.money import quantize_money

_MICROSECOND = timedelta(microseconds=1)
# Enough digits that the share is exact to well below a cent before rounding.
_PRECISION = 60


@dataclass(frozen=True)
class PlanSpan:
    """A plan in force during part of the month."""

    monthly_price: Decimal
    start: datetime
    end: datetime  # exclusive


@dataclass(frozen=True)
class PlanChangeQuote:
    current_price: Decimal  # per month
    new_price: Decimal  # per month
    at: datetime  # when the new plan takes effect
    month_start: datetime
    month_end: datetime  # exclusive: the first instant of the next month
    # This month's plan charges without and with the change, each line rounded.
    month_charges_without: Decimal
    month_charges_with: Decimal

    @property
    def invoice_change(self) -> Decimal:
        """What the change adds to (or, negative, takes off) this month's invoice."""
        return self.month_charges_with - self.month_charges_without

    @property
    def monthly_change(self) -> Decimal:
        return self.new_price - self.current_price


def utc_month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) containing ``moment``: [first instant, next month)."""
    start = moment.astimezone(UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def _share(start: datetime, end: datetime, month: timedelta) -> Decimal:
    return Decimal((end - start) // _MICROSECOND) / Decimal(month // _MICROSECOND)


def _charges(spans: list[PlanSpan], month: timedelta, currency: str) -> Decimal:
    """Each span's price for its share of the month, rounded once per span."""
    return sum(
        (
            quantize_money(
                span.monthly_price * _share(span.start, span.end, month), currency
            )
            for span in spans
            if span.start < span.end
        ),
        Decimal(0),
    )


def plan_change_quote(
    *,
    plans: list[PlanSpan],
    new_price: Decimal,
    at: datetime,
    currency: str,
) -> PlanChangeQuote:
    """Quote a change to a plan of ``new_price`` a month taking effect at ``at``.

    ``plans`` are the plans in force during ``at``'s month up to its end, oldest
    first, clipped to the month (the last one is the current plan, in force until
    the month ends); empty when the account has no plan yet. Amounts are rounded
    per plan line, as invoicing does, and the difference is not rounded again.
    """
    month_start, month_end = utc_month_bounds(at)
    month = month_end - month_start
    current_price = plans[-1].monthly_price if plans else Decimal(0)
    with_change = [
        PlanSpan(span.monthly_price, span.start, min(span.end, at))
        for span in plans
        if span.start < at
    ] + [PlanSpan(new_price, at, month_end)]
    with localcontext() as context:
        context.prec = _PRECISION
        without = _charges(plans, month, currency)
        with_ = _charges(with_change, month, currency)
    return PlanChangeQuote(
        current_price=current_price,
        new_price=new_price,
        at=at,
        month_start=month_start,
        month_end=month_end,
        month_charges_without=without,
        month_charges_with=with_,
    )
