"""Reads of taxes and coupons: the tax rates and discounts each customer's rating
carries, and the lists the API and admin show.

A customer is taxed by the rates of its tax profile; without any, by the
organization's default rates of its country and those without a country; an
exempt customer by none. A coupon redemption discounts the customer's monthly
invoices from its first to its last month (for ever without one).
"""

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from invoices import rating
from invoices.models import (
    Coupon,
    CouponRedemption,
    CustomerTaxProfile,
    TaxRate,
)
from invoices.periods import MONTHLY, Period
from invoices.selectors.usage import customers_in
from metering.models import Customer, Organization


def _tax_terms(rate: TaxRate) -> rating.TaxTerms:
    return rating.TaxTerms(
        reference=f"tax_rate:{rate.pk}",
        name=rate.name,
        rate_percent=rate.rate_percent,
        inclusive=rate.inclusive,
    )


@dataclass
class TaxTable:
    """The tax rates of an organization's customers, loaded once per period."""

    # The organization's default rates, in code order.
    defaults: tuple[tuple[str, rating.TaxTerms], ...] = ()  # (country, terms)
    # Customers with a tax profile -> (country, their own rates or None, exempt).
    profiles: dict[int, tuple[str, tuple[rating.TaxTerms, ...] | None, bool]] = field(
        default_factory=dict
    )

    def for_customer(self, customer_id: int) -> tuple[rating.TaxTerms, ...]:
        country, own, exempt = self.profiles.get(customer_id, ("", None, False))
        if exempt:
            return ()
        if own:
            return own
        return tuple(
            terms
            for rate_country, terms in self.defaults
            if rate_country in ("", country)
        )


def tax_table(*, organization: Organization, customer_ids=None) -> TaxTable:
    """The rates every customer of the organization (or of ``customer_ids``) is
    taxed by: two queries, plus one for the profiles' own rates."""
    defaults = tuple(
        (rate.country, _tax_terms(rate))
        for rate in TaxRate.objects.filter(
            organization=organization, is_default=True
        ).order_by("code")
    )
    profiles = CustomerTaxProfile.objects.filter(organization=organization)
    if customer_ids is not None:
        profiles = profiles.filter(customer_id__in=customers_in(customer_ids))
    profiles = profiles.only("customer_id", "country", "tax_exempt").prefetch_related(
        Prefetch("tax_rates", queryset=TaxRate.objects.order_by("code"))
    )
    return TaxTable(
        defaults=defaults,
        profiles={
            profile.customer_id: (
                profile.country,
                tuple(_tax_terms(rate) for rate in profile.tax_rates.all()) or None,
                profile.tax_exempt,
            )
            for profile in profiles
        },
    )


def redemptions_in_force(
    *, organization: Organization, period: Period, customer_ids=None
) -> QuerySet[CouponRedemption]:
    """Redemptions whose months include the (monthly) period, in the order
    redeemed; none for a daily period."""
    if period.frequency != MONTHLY:
        return CouponRedemption.objects.none()
    redemptions = CouponRedemption.objects.filter(
        organization=organization, first_period_start__lte=period.start
    ).filter(Q(last_period_start__isnull=True) | Q(last_period_start__gte=period.start))
    if customer_ids is not None:
        redemptions = redemptions.filter(customer_id__in=customers_in(customer_ids))
    return redemptions.select_related("coupon").order_by("redeemed_at", "id")


def discounts_by_customer(
    *, organization: Organization, period: Period, customer_ids=None
) -> dict[int, tuple[rating.DiscountTerms, ...]]:
    """Customer id -> the coupons that discount its invoice of the period."""
    found: dict[int, list[rating.DiscountTerms]] = {}
    for redemption in redemptions_in_force(
        organization=organization, period=period, customer_ids=customer_ids
    ):
        coupon = redemption.coupon
        found.setdefault(redemption.customer_id, []).append(
            rating.DiscountTerms(
                reference=f"coupon_redemption:{redemption.pk}",
                name=coupon.code,
                percent_off=coupon.percent_off,
                amount_off=coupon.amount_off,
                operations=frozenset(coupon.applies_to_operations or ()),
            )
        )
    return {customer_id: tuple(terms) for customer_id, terms in found.items()}


def tax_rate_list(*, organization: Organization) -> QuerySet[TaxRate]:
    return TaxRate.objects.filter(organization=organization).order_by("code")


def coupon_list(*, organization: Organization) -> QuerySet[Coupon]:
    return Coupon.objects.filter(organization=organization).order_by("code")


def customer_redemptions(*, customer: Customer) -> QuerySet[CouponRedemption]:
    return (
        CouponRedemption.objects.filter(
            organization_id=customer.organization_id, customer=customer
        )
        .select_related("coupon", "customer")
        .order_by("redeemed_at", "id")
    )


def customer_tax_profile(*, customer: Customer) -> CustomerTaxProfile:
    """The customer's tax profile, or an unsaved empty one."""
    found = (
        CustomerTaxProfile.objects.filter(
            organization_id=customer.organization_id, customer=customer
        )
        .prefetch_related("tax_rates")
        .first()
    )
    return found or CustomerTaxProfile(
        organization_id=customer.organization_id, customer=customer
    )
