"""Taxes and coupons: tax rates, customers' tax profiles, coupons and their
redemption.

A coupon's redemptions are counted under a lock on its row, so however many
requests redeem it at once, no more than ``max_redemptions`` succeed; the others
get a ``Conflict`` (a 409).
"""

from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from billing_site.errors import Conflict, DomainError
from invoices import periods
from invoices.models import Coupon, CouponRedemption, CustomerTaxProfile, TaxRate
from invoices.periods import MONTHLY
from metering.models import Customer, Organization


def _months_after(start: date, months: int) -> date:
    """The first day of the month ``months`` after ``start``'s month."""
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@transaction.atomic
def tax_rate_create(
    *,
    organization: Organization,
    code: str,
    name: str,
    rate_percent: Decimal,
    country: str = "",
    inclusive: bool = False,
    is_default: bool = False,
) -> TaxRate:
    """A new tax rate; its code is unique in the organization (a 400 naming
    ``code`` otherwise)."""
    if TaxRate.objects.filter(organization=organization, code=code).exists():
        raise DomainError(f"A tax rate with code {code!r} exists.", field="code")
    rate = TaxRate(
        organization=organization,
        code=code,
        name=name,
        rate_percent=rate_percent,
        country=country,
        inclusive=inclusive,
        is_default=is_default,
    )
    rate.full_clean()
    try:
        with transaction.atomic():
            rate.save()
    except IntegrityError:
        raise Conflict(
            f"A tax rate with code {code!r} was created meanwhile.", field="code"
        ) from None
    return rate


@transaction.atomic
def customer_tax_profile_update(
    *,
    customer: Customer,
    country: str = "",
    tax_id: str = "",
    tax_exempt: bool = False,
    tax_rate_codes: list[str] | None = None,
    payment_terms_days: int | None = None,
) -> CustomerTaxProfile:
    """Set the customer's country, tax id, exemption, own tax rates (by code;
    an unknown code is a 400 naming ``tax_rate_codes``) and payment terms (None:
    the organization's). Drafts take it at their
    next rating; issued invoices keep theirs."""
    codes = list(dict.fromkeys(tax_rate_codes or ()))
    rates = {
        rate.code: rate
        for rate in TaxRate.objects.filter(
            organization_id=customer.organization_id, code__in=codes
        )
    }
    unknown = [code for code in codes if code not in rates]
    if unknown:
        raise DomainError(
            f"Unknown tax rate {', '.join(map(repr, unknown))}.",
            field="tax_rate_codes",
        )
    Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).first()
    profile = CustomerTaxProfile.objects.filter(
        customer=customer
    ).first() or CustomerTaxProfile(
        organization_id=customer.organization_id, customer=customer
    )
    profile.country = country
    profile.tax_id = tax_id
    profile.tax_exempt = tax_exempt
    profile.payment_terms_days = payment_terms_days
    profile.full_clean()
    profile.save()
    profile.tax_rates.set([rates[code] for code in codes])
    return profile


@transaction.atomic
def coupon_create(
    *,
    organization: Organization,
    code: str,
    name: str,
    duration: str,
    percent_off: Decimal | None = None,
    amount_off: Decimal | None = None,
    currency: str = "",
    duration_in_periods: int | None = None,
    max_redemptions: int | None = None,
    expires_at: datetime | None = None,
    applies_to_operations: list[str] | None = None,
) -> Coupon:
    """A new coupon: exactly one of ``percent_off`` (more than 0, at most 100) and
    ``amount_off`` with ``currency`` (the organization's); ``duration_in_periods``
    for a repeating coupon only. Each problem is a 400 naming its field."""
    if Coupon.objects.filter(organization=organization, code=code).exists():
        raise DomainError(f"A coupon with code {code!r} exists.", field="code")
    coupon = Coupon(
        organization=organization,
        code=code,
        name=name,
        percent_off=percent_off,
        amount_off=amount_off,
        currency=currency,
        duration=duration,
        duration_in_periods=duration_in_periods,
        max_redemptions=max_redemptions,
        expires_at=expires_at,
        applies_to_operations=sorted(set(applies_to_operations or ())),
    )
    coupon.full_clean()  # ``Coupon.clean``: the terms, each problem by field
    try:
        with transaction.atomic():
            coupon.save()
    except IntegrityError:
        raise Conflict(
            f"A coupon with code {code!r} was created meanwhile.", field="code"
        ) from None
    return coupon


@transaction.atomic
def coupon_redeem(
    *, coupon: Coupon, customer: Customer, now: datetime
) -> CouponRedemption:
    """Apply ``coupon`` to ``customer`` from the month of ``now``: once (that
    month), for ``duration_in_periods`` months, or for ever.

    The coupon's row is locked while its redemptions are counted: an expired
    coupon is a 400, one redeemed ``max_redemptions`` times or already redeemed
    by the customer a 409.
    """
    if coupon.organization_id != customer.organization_id:
        raise DomainError(f"Unknown coupon {coupon.code!r}.", field="code")
    locked = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if locked.expires_at is not None and locked.expires_at <= now:
        raise DomainError(
            f"Coupon {locked.code} expired at {locked.expires_at.isoformat()}.",
            field="code",
        )
    if (
        locked.max_redemptions is not None
        and locked.times_redeemed >= locked.max_redemptions
    ):
        raise Conflict(
            f"Coupon {locked.code} has been redeemed {locked.times_redeemed} "
            "time(s), its maximum.",
            field="code",
        )
    if CouponRedemption.objects.filter(coupon=locked, customer=customer).exists():
        raise Conflict(
            f"Customer {customer.external_id} has already redeemed coupon "
            f"{locked.code}.",
            field="code",
        )
    first = periods.period_containing(now, MONTHLY).start
    last = None
    if locked.duration == Coupon.Duration.ONCE:
        last = first
    elif locked.duration == Coupon.Duration.REPEATING:
        last = _months_after(first, locked.duration_in_periods - 1)
    redemption = CouponRedemption.objects.create(
        organization_id=customer.organization_id,
        coupon=locked,
        customer=customer,
        redeemed_at=now,
        first_period_start=first,
        last_period_start=last,
    )
    locked.times_redeemed += 1
    locked.save(update_fields=["times_redeemed", "updated_at"])
    return redemption
