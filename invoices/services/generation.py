"""Generation of a closed period's draft invoices from usage, and bundle upgrade
offers to customers who used operations outside their bundles.
"""

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from billing_site.collection import without_cycle_collection
from billing_site.errors import DomainError
from bundles import services as bundle_services
from invoices import rating, selectors
from invoices.documents import InvoiceSnapshot
from invoices.models import Invoice
from invoices.periods import DAILY, MONTHLY, Period
from invoices.services.draft_storage import (
    _ChunkWriter,
    _insert_invoices,
    _insert_lines,
    _lines_digest,
    _LineTexts,
    _link_provider_charges,
    _release_lines,
    _update_drafts,
)
from metering.models import Customer, Organization

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000


@dataclass
class GenerationResult:
    period: Period
    created: int = 0
    refreshed: int = 0
    already_issued: int = 0
    removed_empty: int = 0
    upgrade_offers: list[tuple[int, str]] = field(default_factory=list)


def invoices_generate(
    *,
    organization: Organization,
    period: Period,
    now: datetime,
    customer_ids: list[int] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> GenerationResult:
    """Create or refresh the draft invoices of a closed period for the organization.

    Idempotent: one invoice per customer and period (a unique constraint); issued
    invoices are left alone and drafts are re-rated from the usage as it stands.
    Usage is read once for the organization (``selectors.period_usage``: the
    month's counters, or one ``GROUP BY`` over the day's events); writes go in
    chunks of customers, each chunk in one transaction (so no invoice is ever left
    without its lines). Customers with nothing to bill get no invoice.
    """
    with without_cycle_collection():
        return _generate(
            organization=organization,
            period=period,
            now=now,
            customer_ids=customer_ids,
            chunk_size=chunk_size,
        )


def _generate(
    *,
    organization: Organization,
    period: Period,
    now: datetime,
    customer_ids: list[int] | None,
    chunk_size: int,
) -> GenerationResult:
    if now < period.closes_at:
        raise DomainError(f"The period {period} has not closed yet.", field="period")
    start, end = period.bounds
    terms = selectors.organization_terms(
        organization=organization, period=period, customer_ids=customer_ids
    )
    usage = selectors.period_usage(
        organization=organization, period=period, customer_ids=customer_ids
    )
    per_use = {}
    if period.frequency == DAILY:
        operations = {code for codes in usage.values() for code in codes}
        per_use = selectors.per_use_events_by_customer(
            organization=organization,
            start=start,
            end=end,
            operations=terms.per_use_operations(operations),
            customer_ids=customer_ids,
        )
    existing_drafts = set(
        Invoice.objects.filter(
            organization=organization,
            frequency=period.frequency,
            period_start=period.start,
            status=Invoice.Status.DRAFT,
        ).values_list("id", flat=True)
    )
    adjustments = selectors.late_adjustments(
        organization=organization,
        period=period,
        exclude_invoice_ids=existing_drafts,
        customer_ids=customer_ids,
    )
    candidates = set(usage) | terms.customer_ids() | set(adjustments)
    if period.frequency == DAILY:
        candidates = set(usage) | set(terms.subscriptions)
    if customer_ids is not None:
        candidates &= set(customer_ids)
    # Name, external id, tax id and country of each customer to rate.
    customers = {
        pk: (name, external_id, tax_id or "", country or "")
        for pk, name, external_id, tax_id, country in Customer.objects.filter(
            organization=organization,
            pk__in=selectors.customers_in(
                candidates if customer_ids is None else customer_ids
            ),
        ).values_list(
            "id", "name", "external_id", "tax_profile__tax_id", "tax_profile__country"
        )
        if pk in candidates
    }
    result = GenerationResult(period=period)
    out_of_bundle = {}
    ordered = sorted(customers)
    with _ChunkWriter() as writer:
        for offset in range(0, len(ordered), chunk_size):
            chunk = ordered[offset : offset + chunk_size]
            ratings = {}
            for customer_id in chunk:
                rated = ratings[customer_id] = rating.rate(
                    selectors.rating_input(
                        terms=terms,
                        customer_id=customer_id,
                        usage=usage.get(customer_id, {}),
                        per_use_events=per_use.get(customer_id),
                        adjustments=tuple(adjustments.get(customer_id, ())),
                    )
                )
                if rated.out_of_bundle:
                    out_of_bundle[customer_id] = rated.out_of_bundle
            writer.write(
                functools.partial(
                    _write_chunk,
                    organization=organization,
                    period=period,
                    terms=terms,
                    customers=customers,
                    ratings=ratings,
                    now=now,
                    result=result,
                )
            )
    _offer_upgrades(
        organization=organization,
        terms=terms,
        out_of_bundle=out_of_bundle,
        period=period,
        now=now,
        result=result,
    )
    return result


def invoices_generate_fanout(
    *, organization: Organization, period: Period, now: datetime, parts: int
):
    """Generate the period's invoices as ``parts`` Celery tasks over contiguous
    slices of the organization's customers, run by as many workers as are free.

    Each part is ``invoices_generate`` for its customers (same idempotence, same
    per-chunk transactions, each locking only its own customers), so the parts
    rate and write in parallel. Returns the Celery group result.
    """
    from celery import group

    from invoices.tasks import invoices_generate_part

    if now < period.closes_at:
        raise DomainError(f"The period {period} has not closed yet.", field="period")
    return group(
        invoices_generate_part.s(organization.pk, period.label, now.isoformat(), ids)
        for ids in selectors.customer_id_slices(organization=organization, parts=parts)
    ).apply_async()


def _write_chunk(
    *,
    organization: Organization,
    period: Period,
    terms: selectors.OrganizationTerms,
    customers: dict[int, tuple[str, str, str, str]],
    ratings: dict[int, rating.Rating],
    now: datetime,
    result: GenerationResult,
) -> None:
    with transaction.atomic():
        # Serializes generators over the same customers, so two runs never race
        # to insert a customer's invoice; runs over other customers (the shares
        # of a fan-out) write at the same time.
        list(
            Customer.objects.select_for_update(no_key=True)
            .filter(
                organization=organization, pk__gte=min(ratings), pk__lte=max(ratings)
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        # The chunk's customers by id range (one parameter pair, not thousands).
        existing = {
            customer_id: (pk, status, digest)
            for pk, customer_id, status, digest in Invoice.objects.select_for_update()
            .filter(
                organization=organization,
                frequency=period.frequency,
                period_start=period.start,
                customer_id__gte=min(ratings),
                customer_id__lte=max(ratings),
                status__in=[
                    Invoice.Status.DRAFT,
                    Invoice.Status.FINALIZED,
                    Invoice.Status.OVERDUE,
                    Invoice.Status.PAID,
                ],
            )
            .values_list("pk", "customer_id", "status", "lines_digest")
        }
        line_texts = _LineTexts()
        # (customer id, snapshot, line texts) of new invoices; (invoice id, ...)
        # of drafts whose lines changed; (invoice id, snapshot) of every draft.
        new, rewritten, refreshed, emptied = [], [], [], []
        for customer_id, rated in ratings.items():
            pk, status, stored_digest = existing.get(customer_id, (None, None, ""))
            if status is not None and status != Invoice.Status.DRAFT:
                result.already_issued += 1
                continue
            if not rated.lines:
                if pk is not None:
                    emptied.append(pk)
                continue
            name, external_id, tax_id, country = customers[customer_id]
            subscription = terms.subscriptions.get(customer_id)
            model = (
                terms.models.get(subscription.billing_model_id)
                if subscription
                else None
            )
            texts = line_texts(rated)
            digest = _lines_digest(texts)
            snapshot = InvoiceSnapshot(
                currency=organization.currency,
                subtotal=rated.subtotal,
                discount_total=rated.discount_total,
                tax_total=rated.tax_total,
                total=rated.total,
                amount_due=rated.amount_due,
                customer_name=name[:200],
                customer_external_id=external_id,
                customer_tax_id=tax_id,
                customer_country=country,
                billing_model_name=model.name if model else "",
                lines_digest=digest,
                rated_at=now,
            )
            if pk is None:
                new.append((customer_id, snapshot, texts))
                continue
            refreshed.append((pk, snapshot))
            # Lines are written once: a draft whose lines rate the same keeps them.
            if digest != stored_digest:
                rewritten.append((pk, customer_id, texts))
        stale = [pk for pk, _, _ in rewritten] + emptied
        if stale:
            _release_lines(stale)
        if emptied:
            Invoice.objects.filter(pk__in=emptied).delete()
            result.removed_empty += len(emptied)
        ids = _insert_invoices(
            organization=organization,
            period=period,
            snapshots=[(customer_id, snapshot) for customer_id, snapshot, _ in new],
            now=now,
        )
        _update_drafts(refreshed, now=now)
        written = [
            *(
                (pk, customer_id, texts)
                for pk, (customer_id, _, texts) in zip(ids, new, strict=True)
            ),
            *rewritten,
        ]
        charge_invoice = {}
        for invoice_id, customer_id, _ in written:
            if customer_id not in terms.provider_charges:
                continue
            for line in ratings[customer_id].lines:
                if line.kind == rating.PROVIDER_CHARGE:
                    charge_invoice[int(line.reference.split(":", 1)[1])] = invoice_id
        _insert_lines(
            [(pk, ratings[customer_id]) for pk, customer_id, _ in written],
            {pk: texts for pk, _, texts in written},
        )
        _link_provider_charges(charge_invoice)
        result.created += len(new)
        result.refreshed += len(refreshed)


def _offer_upgrades(
    *,
    organization: Organization,
    terms: selectors.OrganizationTerms,
    out_of_bundle: dict[int, dict[str, Decimal]],
    period: Period,
    now: datetime,
    result: GenerationResult,
) -> None:
    """Offer a bundle upgrade to customers with bundles who used an operation
    outside them beyond the organization's level (the seed's offerBundleUpgrade).
    ``out_of_bundle`` is what the period's rating charged outside bundles."""
    level = terms.settings.upgrade_offer_units
    if level is None or period.frequency != MONTHLY or not terms.bundles:
        return
    customers = Customer.objects.in_bulk(
        [customer_id for customer_id in terms.bundles if customer_id in out_of_bundle]
    )
    for customer_id in terms.bundles:
        if customer_id not in customers:
            continue
        over = {
            code: units
            for code, units in out_of_bundle[customer_id].items()
            if units > level
        }
        if not over:
            continue
        operation = max(sorted(over), key=lambda code: over[code])
        try:
            bundle_services.bundle_upgrade_offer(
                customer=customers[customer_id],
                operation=operation,
                now=now,
                observed_quantity=over[operation],
            )
        except DomainError as error:
            logger.info("No upgrade offer for customer %s: %s", customer_id, error)
            continue
        result.upgrade_offers.append((customer_id, operation))
