"""Reads on operation prices: list prices and customer overrides."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet

from bundles.models import OperationPrice
from metering.models import Customer, Organization


def operation_price_list(*, organization: Organization) -> QuerySet[OperationPrice]:
    return OperationPrice.objects.filter(organization=organization).select_related(
        "customer"
    )


def list_prices(*, organization: Organization) -> dict[str, Decimal]:
    """Operation code -> organization-wide unit price."""
    return dict(
        operation_price_list(organization=organization)
        .filter(customer__isnull=True)
        .values_list("operation", "unit_price")
    )


def customer_price_overrides(
    *, organization: Organization, customer_ids=None
) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation code: unit price} for customers with overrides."""
    rows = OperationPrice.objects.filter(
        organization=organization, customer__isnull=False
    )
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customer_ids)
    overrides: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for customer_id, operation, price in rows.values_list(
        "customer_id", "operation", "unit_price"
    ):
        overrides[customer_id][operation] = price
    return dict(overrides)


def unit_prices_for(*, customer: Customer) -> dict[str, Decimal]:
    """Operation code -> the customer's unit price (override, else list price)."""
    prices = list_prices(organization=customer.organization)
    overrides = customer_price_overrides(
        organization=customer.organization, customer_ids=[customer.pk]
    )
    prices.update(overrides.get(customer.pk, {}))
    return prices
