"""Subscriptions and provider charges: assigning billing models, recording provider
network charges one by one or from a CSV import.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from billing_site.errors import Conflict, DomainError
from billing_site.money import quantize_money
from invoices import periods
from invoices.models import ProviderCharge, Subscription
from invoices.periods import MONTHLY
from metering.models import Customer, Organization
from pricing.models import BillingModel


@transaction.atomic
def subscription_create(
    *,
    organization: Organization,
    customer: Customer,
    billing_model: BillingModel,
    agents: int,
    starts_at: datetime,
) -> Subscription:
    """Assign a billing model from ``starts_at``; ends the customer's open one."""
    if customer.organization_id != organization.pk:
        raise DomainError("Unknown customer.", field="customer_id")
    if billing_model.organization_id != organization.pk:
        raise DomainError("Unknown billing model.", field="billing_model_id")
    if not billing_model.is_active:
        raise DomainError(
            f"Billing model {billing_model.name!r} is not active.",
            field="billing_model_id",
        )
    # The customer's row serialises concurrent changes of its subscriptions; the
    # database's exclusion constraint (no two overlapping) backs it up.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    open_ones = Subscription.objects.select_for_update().filter(
        customer=customer, ends_at__isnull=True
    )
    for current in open_ones:
        if current.starts_at >= starts_at:
            raise Conflict(
                "The customer already has a subscription starting "
                f"{current.starts_at.isoformat()}; start after it.",
                field="starts_at",
            )
        current.ends_at = starts_at
        current.save(update_fields=["ends_at", "updated_at"])
    subscription = Subscription(
        organization=organization,
        customer=customer,
        billing_model=billing_model,
        agents=agents,
        starts_at=starts_at,
    )
    subscription.full_clean()
    try:
        with transaction.atomic():
            subscription.save()
    except IntegrityError as error:
        if "subscription_periods_never_overlap" not in str(error):
            raise
        raise Conflict(
            "Another subscription of the customer covers this time.",
            field="starts_at",
        ) from None
    return subscription


@transaction.atomic
def provider_charge_create(
    *,
    organization: Organization,
    customer: Customer,
    provider: str,
    period_start: date,
    amount: Decimal,
    description: str = "",
    external_ref: str = "",
    credit_reason: str = "",
) -> ProviderCharge:
    """Record a provider's network charge for a month (billed on its invoice).

    A negative amount is a credit and needs ``credit_reason`` (kept as the
    description); a positive one takes none. Either way at most
    ``MAX_PROVIDER_CHARGE`` in size."""
    if customer.organization_id != organization.pk:
        raise DomainError("Unknown customer.", field="customer_id")
    if abs(amount) > MAX_PROVIDER_CHARGE:
        raise DomainError(
            f"Must be between -{MAX_PROVIDER_CHARGE} and {MAX_PROVIDER_CHARGE}.",
            field="amount",
        )
    credit_reason = credit_reason.strip()
    if amount < 0 and not credit_reason:
        raise DomainError(
            "A negative amount is a credit: give its credit_reason.", field="amount"
        )
    if amount >= 0 and credit_reason:
        raise DomainError(
            "Only a credit (a negative amount) has a reason.", field="credit_reason"
        )
    if credit_reason:
        description = f"Credit: {credit_reason}"
    if period_start.day != 1:
        raise DomainError("Give the first day of the month.", field="period")
    if (
        external_ref
        and ProviderCharge.objects.filter(
            organization=organization, provider=provider, external_ref=external_ref
        ).exists()
    ):
        raise DomainError(
            f"Charge {external_ref!r} of {provider!r} is already recorded.",
            field="external_ref",
        )
    charge = ProviderCharge(
        organization=organization,
        customer=customer,
        provider=provider,
        period_start=period_start,
        amount=quantize_money(amount, organization.currency),
        description=description,
        external_ref=external_ref,
    )
    charge.full_clean()
    charge.save()
    return charge


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0  # already recorded (same provider and external_ref)
    errors: list[str] = field(default_factory=list)  # "row 3: amount: ..."


CSV_COLUMNS = ("customer_id", "provider", "period", "amount")
# The largest charge or credit one row may carry, in the organization's currency.
MAX_PROVIDER_CHARGE = Decimal("1000000.00")


def provider_charges_import(*, organization: Organization, text: str) -> ImportResult:
    """Import charges from CSV with columns customer_id (external id), provider,
    period (YYYY-MM), amount, and optional description and external_ref.

    All or nothing: any invalid row aborts the import and every error is reported.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in CSV_COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        raise DomainError(f"Missing column(s): {', '.join(missing)}.", field="file")
    result = ImportResult()
    customers = {
        customer.external_id: customer
        for customer in Customer.objects.filter(organization=organization)
    }
    rows = []
    for number, row in enumerate(reader, start=2):
        try:
            customer = customers.get((row["customer_id"] or "").strip())
            if customer is None:
                raise DomainError(
                    f"Unknown customer {row['customer_id']!r}.", field="customer_id"
                )
            period = periods.period_parse(row["period"], field="period")
            if period.frequency != MONTHLY:
                raise DomainError("Use YYYY-MM.", field="period")
            try:
                amount = Decimal((row["amount"] or "").strip())
            except InvalidOperation:
                raise DomainError(
                    f"Not a number: {row['amount']!r}.", field="amount"
                ) from None
            if not amount.is_finite():
                raise DomainError("Not a number.", field="amount")
            if abs(amount) > MAX_PROVIDER_CHARGE:
                raise DomainError(
                    f"Must be between -{MAX_PROVIDER_CHARGE} and "
                    f"{MAX_PROVIDER_CHARGE}.",
                    field="amount",
                )
            description = (row.get("description") or "").strip()
            if amount < 0 and not description:
                raise DomainError(
                    "A negative amount is a credit: give its reason as description.",
                    field="amount",
                )
            provider = (row["provider"] or "").strip()
            if not provider:
                raise DomainError("Required.", field="provider")
            rows.append(
                {
                    "customer": customer,
                    "provider": provider,
                    "period_start": period.start,
                    "amount": amount,
                    "description": "" if amount < 0 else description,
                    "credit_reason": description if amount < 0 else "",
                    "external_ref": (row.get("external_ref") or "").strip(),
                }
            )
        except DomainError as error:
            result.errors.append(f"row {number}: {error.field}: {error.message}")
    if result.errors:
        return result
    with transaction.atomic():
        for fields in rows:
            if (
                fields["external_ref"]
                and ProviderCharge.objects.filter(
                    organization=organization,
                    provider=fields["provider"],
                    external_ref=fields["external_ref"],
                ).exists()
            ):
                result.skipped += 1
                continue
            provider_charge_create(organization=organization, **fields)
            result.created += 1
    return result
