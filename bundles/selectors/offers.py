"""Reads on personalised bundles: offers, live bundles and what accepted
bundles cover."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from billing_site.ids import ascii_id
from bundles.models import BundleTemplate, PersonalizedBundle
from metering.models import Customer, Organization

LIVE_STATUSES = (PersonalizedBundle.Status.ACCEPTED, PersonalizedBundle.Status.ACTIVE)


def _with_details(bundles: QuerySet[PersonalizedBundle]) -> QuerySet:
    return bundles.select_related("customer").prefetch_related(
        "lines", Prefetch("templates", queryset=BundleTemplate.objects.only("name"))
    )


def bundle_list(*, organization: Organization) -> QuerySet[PersonalizedBundle]:
    return _with_details(PersonalizedBundle.objects.filter(organization=organization))


def bundle_get(*, organization: Organization, pk) -> PersonalizedBundle:
    number = ascii_id(pk)
    if number is None:
        raise Http404(f"No bundle {pk!r}")
    bundle = bundle_list(organization=organization).filter(pk=number).first()
    if bundle is None:
        raise Http404(f"No bundle {pk!r}")
    return bundle


def customer_bundles(
    *, organization: Organization, customer: Customer
) -> QuerySet[PersonalizedBundle]:
    return bundle_list(organization=organization).filter(customer=customer)


def portal_bundles(*, customer: Customer, at: dt.datetime) -> dict[str, list]:
    """What the portal shows: open offers and live bundles, both within validity."""
    bundles = _with_details(
        PersonalizedBundle.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            valid_from__lte=at,
            valid_until__gt=at,
        )
    ).order_by("valid_until", "id")
    result: dict[str, list] = {"offers": [], "active": []}
    for bundle in bundles:
        if bundle.status == PersonalizedBundle.Status.OFFERED:
            result["offers"].append(bundle)
        elif bundle.status in LIVE_STATUSES:
            result["active"].append(bundle)
    return result


def active_bundles_for(
    *, customer: Customer, at: dt.datetime
) -> QuerySet[PersonalizedBundle]:
    """Bundles the customer accepted and whose validity contains ``at``."""
    return _with_details(
        PersonalizedBundle.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            status__in=LIVE_STATUSES,
            valid_from__lte=at,
            valid_until__gt=at,
        )
    )


@dataclass(frozen=True)
class BundleCoverage:
    bundle_id: int
    name: str
    price: Decimal
    currency: str
    valid_from: dt.datetime
    valid_until: dt.datetime  # exclusive
    accepted_at: dt.datetime
    # Operation code -> units included; None means unlimited.
    included: dict[str, Decimal | None]

    @property
    def reference(self) -> str:
        return f"bundle:{self.bundle_id}"


def bundle_coverage(
    *, customer: Customer, start: dt.datetime, end: dt.datetime
) -> list[BundleCoverage]:
    """Accepted bundles whose validity overlaps [start, end), with what they include.

    A bundle counts whether it is still active or has expired since: its acceptance
    is what matters for rating a past period. Usage only counts against a bundle
    while it is valid; callers rate the part of the period each bundle covers.
    """
    bundles = (
        PersonalizedBundle.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            accepted_at__isnull=False,
            valid_from__lt=end,
            valid_until__gt=start,
        )
        .prefetch_related(
            "lines",
            Prefetch("templates", queryset=BundleTemplate.objects.only("name")),
        )
        .order_by("valid_from", "id")
    )
    return [
        BundleCoverage(
            bundle_id=bundle.pk,
            name=bundle_name(bundle),
            price=bundle.price,
            currency=bundle.currency,
            valid_from=bundle.valid_from,
            valid_until=bundle.valid_until,
            accepted_at=bundle.accepted_at,
            included={
                line.operation: line.included_quantity for line in bundle.lines.all()
            },
        )
        for bundle in bundles
    ]


def bundle_name(bundle: PersonalizedBundle) -> str:
    """Template names joined, or a generic name for purely algorithmic bundles."""
    names = sorted(template.name for template in bundle.templates.all())
    return " + ".join(names) if names else "Personalised bundle"
