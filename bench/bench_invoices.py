"""Invoicing one monthly period: 10,000 customers over 2,000,000 usage events.

Events are COPYed straight into metering's event table, and the month's usage
counters are then written as ingestion maintains them (one row per customer and
operation; the idempotency keys ingestion also writes are not needed for invoicing).
The organization has list prices for 30 operations, a hybrid billing model with tiers,
agents and a minimum pricing 10 more operations for half the customers, bundles for a
tenth and provider charges for a tenth. The timed step is ``invoices_generate`` for
the month, in this process: reading the month's usage, rating every customer and
writing the drafts. The event scan it no longer needs is timed too, for comparison.
"""

import io
import multiprocessing
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import connection

from bench.core import Context, Result, stopwatch

ORDER = 70
CUSTOMERS = 10_000
EVENTS = 2_000_000
PRICED_OPERATIONS = 30
MODEL_OPERATIONS = 10
MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
GENERATED_AT = datetime(2026, 11, 1, 1, tzinfo=UTC)
# Processes generating at once in the timed run (the machine's two cores).
WORKERS = 2


def _setup(ctx: Context):
    from bundles.models import (
        OperationPrice,
        PersonalizedBundle,
        PersonalizedBundleLine,
    )
    from invoices.models import InvoicingSettings, ProviderCharge, Subscription
    from metering.models import Customer, Operation, Organization
    from pricing.models import ActivityBasedConfig, BillingModel, PriceTier

    customers_n = ctx.scaled(CUSTOMERS)
    events_n = ctx.scaled(EVENTS)
    organization = Organization.objects.create(
        slug=f"bench-invoices-{time.time_ns()}", name="Bench invoices"
    )
    InvoicingSettings.objects.create(
        organization=organization, provider_markup_percent=Decimal("7.5")
    )
    Customer.objects.bulk_create(
        [
            Customer(organization=organization, external_id=f"c{i}", name=f"C {i}")
            for i in range(customers_n)
        ],
        batch_size=5000,
    )
    customer_ids = np.array(
        Customer.objects.filter(organization=organization)
        .order_by("id")
        .values_list("id", flat=True)
    )
    priced = [f"op.{i}" for i in range(PRICED_OPERATIONS)]
    modelled = [f"gen.{i}" for i in range(MODEL_OPERATIONS)]
    OperationPrice.objects.bulk_create(
        OperationPrice(
            organization=organization,
            operation=code,
            unit_price=Decimal("0.0005") * (i + 1),
        )
        for i, code in enumerate(priced)
    )
    Operation.objects.bulk_create(
        Operation(
            organization=organization, code=code, name=code, activity_type="tokens"
        )
        for code in modelled
    )
    model = BillingModel.objects.create(
        organization=organization,
        name="Bench hybrid",
        model_type="hybrid",
        subscription_fee=Decimal("49.00"),
    )
    config = ActivityBasedConfig.objects.create(
        billing_model=model,
        activity_type="tokens",
        price_per_unit=Decimal("0.001"),
        base_agent_fee=Decimal("15.00"),
        volume_pricing_enabled=True,
        minimum_charge=Decimal("20.00"),
    )
    PriceTier.objects.bulk_create(
        [
            PriceTier(
                config=config, position=1, up_to=5000, unit_price=Decimal("0.0015")
            ),
            PriceTier(
                config=config, position=2, up_to=20000, unit_price=Decimal("0.001")
            ),
        ]
    )
    Subscription.objects.bulk_create(
        Subscription(
            organization=organization,
            customer_id=int(customer_id),
            billing_model=model,
            agents=int(customer_id % 5),
            starts_at=MONTH_START - timedelta(days=60),
        )
        for customer_id in customer_ids[::2]
    )
    tenth = customer_ids[::10]
    bundles = PersonalizedBundle.objects.bulk_create(
        PersonalizedBundle(
            organization=organization,
            customer_id=int(customer_id),
            period_key=f"month:2026-10-{customer_id}",
            validity="month",
            status="active",
            currency="USD",
            list_value=Decimal("30"),
            discount=Decimal("5"),
            upsell=Decimal("1"),
            price=Decimal("26.00"),
            predicted_cost=Decimal("30"),
            expected_saving=Decimal("4"),
            valid_from=MONTH_START,
            valid_until=MONTH_START + timedelta(days=31),
            accepted_at=MONTH_START,
        )
        for customer_id in tenth
    )
    PersonalizedBundleLine.objects.bulk_create(
        PersonalizedBundleLine(
            bundle=bundle,
            operation=code,
            included_quantity=Decimal("2000"),
            unit_price=Decimal("0.001"),
        )
        for bundle in bundles
        for code in priced[:2]
    )
    ProviderCharge.objects.bulk_create(
        ProviderCharge(
            organization=organization,
            customer_id=int(customer_id),
            provider="Twilio",
            period_start=date(2026, 10, 1),
            amount=Decimal("12.34"),
        )
        for customer_id in tenth
    )

    rng = np.random.default_rng(11)
    codes = np.array(priced + modelled)
    chosen_customers = customer_ids[rng.integers(0, len(customer_ids), events_n)]
    chosen_codes = codes[rng.integers(0, len(codes), events_n)]
    quantities = rng.integers(1, 1000, events_n)
    seconds = rng.integers(0, 31 * 86_400, events_n)
    stamps = (
        np.datetime64("2026-10-01T00:00:00") + seconds.astype("timedelta64[s]")
    ).astype(str)
    received = "2026-11-01T00:00:00+00"
    payload = "".join(
        f"{organization.pk}\t{c}\tb{i}\t{o}\t{q}\t{t}+00\t{received}\n"
        for i, (c, o, q, t) in enumerate(
            zip(chosen_customers, chosen_codes, quantities, stamps, strict=True)
        )
    ).encode()
    with stopwatch() as copy_time:
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(
                "COPY metering_usageevent (organization_id, customer_id, event_id, "
                "operation, quantity, occurred_at, received_at) FROM STDIN"
            ) as copy:
                buffer = io.BytesIO(payload)
                while chunk := buffer.read(1 << 20):
                    copy.write(chunk)
            cursor.execute("ANALYZE metering_usageevent")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO metering_usagecounter (organization_id, customer_id, "
                "operation, period_start, quantity, event_count) "
                "SELECT organization_id, customer_id, operation, %s, sum(quantity), "
                "count(*) FROM metering_usageevent WHERE organization_id = %s "
                "GROUP BY organization_id, customer_id, operation",
                [MONTH_START.date(), organization.pk],
            )
            cursor.execute("ANALYZE metering_usagecounter")
    return organization, customers_n, events_n, copy_time["seconds"]


def _generate_part(organization_id: int, customer_ids: list[int]) -> dict:
    """One worker's share: what the Celery task of a fanned-out generation runs."""
    from invoices.tasks import invoices_generate_part

    return invoices_generate_part(
        organization_id, "2026-10", GENERATED_AT.isoformat(), customer_ids
    )


def _generate_in_workers(organization, period) -> int:
    """Generate the month in WORKERS forked processes, one customer slice each
    (the shares ``invoices_generate_fanout`` hands to Celery workers); returns the
    number of invoices created."""
    from django.db import connections

    from invoices import selectors

    slices = selectors.customer_id_slices(organization=organization, parts=WORKERS)
    connections.close_all()  # each process opens its own connection
    with multiprocessing.get_context("fork").Pool(len(slices)) as pool:
        parts = pool.starmap(_generate_part, [(organization.pk, ids) for ids in slices])
    return sum(part["created"] for part in parts)


def _delete_invoices(organization) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoices_providercharge SET invoice_id = NULL "
            "WHERE organization_id = %s",
            [organization.pk],
        )
        cursor.execute(
            "DELETE FROM invoices_invoiceline WHERE invoice_id IN "
            "(SELECT id FROM invoices_invoice WHERE organization_id = %s)",
            [organization.pk],
        )
        cursor.execute(
            "DELETE FROM invoices_invoice WHERE organization_id = %s",
            [organization.pk],
        )


def run(ctx: Context) -> list[Result]:
    from invoices import selectors, services
    from invoices.models import Invoice, InvoiceLine
    from invoices.periods import MONTHLY, Period

    organization, customers_n, events_n, copy_seconds = _setup(ctx)
    period = Period(MONTHLY, date(2026, 10, 1))
    start, end = period.bounds
    with stopwatch() as aggregate_time:
        selectors.usage_by_customer(organization=organization, start=start, end=end)
    with stopwatch() as counters_time:
        selectors.period_usage(organization=organization, period=period)
    with stopwatch() as generate_time:
        created = _generate_in_workers(organization, period)
    invoices = Invoice.objects.filter(organization=organization).count()
    lines = InvoiceLine.objects.filter(invoice__organization=organization).count()
    with stopwatch() as refresh_time:
        services.invoices_generate(
            organization=organization,
            period=period,
            now=GENERATED_AT + timedelta(hours=1),
        )
    _delete_invoices(organization)
    with stopwatch() as single_time:
        services.invoices_generate(
            organization=organization, period=period, now=GENERATED_AT
        )
    reference = ctx.reference.get("group_by_seconds")
    scope = f"{customers_n:,} customers, {events_n:,} events"
    return [
        Result(
            "invoices: generate one monthly period",
            generate_time["seconds"],
            "s",
            reference=reference,
            reference_name="raw GROUP BY customer",
            better="lower",
            note=(
                f"{scope}; {WORKERS} worker processes (the Celery fan-out's "
                f"shares); {created:,} invoices, {lines:,} lines written "
                f"({invoices:,} in the table); goal within 5x the reference"
            ),
        ),
        Result(
            "invoices: generate one monthly period in one process",
            single_time["seconds"],
            "s",
            reference=reference,
            reference_name="raw GROUP BY customer",
            better="lower",
            note=scope,
        ),
        Result(
            "invoices: regenerate the same period (refresh drafts)",
            refresh_time["seconds"],
            "s",
            reference=reference,
            reference_name="raw GROUP BY customer",
            better="lower",
            note=f"{scope}; one process",
        ),
        Result(
            "invoices: month's usage read from the counters",
            counters_time["seconds"],
            "s",
            reference=reference,
            reference_name="raw GROUP BY customer",
            better="lower",
            note=f"{scope}; part of generating",
        ),
        Result(
            "invoices: SQL aggregation of the month's events (not used)",
            aggregate_time["seconds"],
            "s",
            reference=reference,
            reference_name="raw GROUP BY customer",
            better="lower",
            note=f"{scope}; events loaded by COPY in {copy_seconds:.1f} s",
        ),
    ]
