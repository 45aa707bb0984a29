"""Writes on operation prices (list prices and customer overrides) and the
organization's bundle settings."""

from decimal import Decimal

from django.db import transaction

from billing_site.errors import DomainError
from bundles.models import BundleSettings, OperationPrice
from metering.models import Customer, Organization


@transaction.atomic
def operation_price_set(
    *,
    organization: Organization,
    operation: str,
    unit_price: Decimal,
    customer: Customer | None = None,
) -> OperationPrice:
    """Create or replace the list price of an operation (or a customer's override)."""
    if customer is not None and customer.organization_id != organization.pk:
        raise DomainError("No such customer.", field="customer_id")
    price = (
        OperationPrice.objects.select_for_update()
        .filter(organization=organization, operation=operation, customer=customer)
        .first()
    ) or OperationPrice(
        organization=organization, operation=operation, customer=customer
    )
    price.unit_price = unit_price
    price.full_clean()
    price.save()
    return price


def bundle_settings_ensure(*, organization: Organization) -> BundleSettings:
    settings, _ = BundleSettings.objects.get_or_create(organization=organization)
    return settings
