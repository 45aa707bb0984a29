import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from billing_site.errors import DomainError, InvalidTransition
from invoices import selectors, services
from invoices.models import CreditNote, Invoice, InvoiceLine, ProviderCharge
from invoices.periods import DAILY, MONTHLY, Period
from invoices.services import generation
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER, at, ingest
from invoices.tests.factories import (
    InvoicingSettingsFactory,
    ProviderChargeFactory,
    SubscriptionFactory,
)
from metering.services import customer_delete
from metering.tests.factories import CustomerFactory
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory

pytestmark = pytest.mark.django_db

EXPECTED_OCTOBER = [
    ("subscription", "Subscription: Token plan", "1", "49.00"),
    ("bundle", "Bundle: Personalised bundle", "1", "25.20"),
    ("bundled_usage", "image.resize: included in bundle", "1000", "0.00"),
    ("overage", "image.resize: beyond bundle", "500", "10.00"),
    ("overage", "pdf.export", "30", "1.50"),
    ("usage", "Api calls — usage (at 0.1)", "100", "10.00"),
    ("minimum_charge", "Api calls — top-up to the minimum charge", None, "15.00"),
    ("base_fee", "Tokens — base fee (2 agents at USD 15.00)", "2", "30.00"),
    ("tier", "Tokens — tier 1 (0–5,000 at 0.0015)", "5000", "7.50"),
    ("tier", "Tokens — tier 2 (5,000–20,000 at 0.001)", "15000", "15.00"),
    ("usage", "Tokens — above 20,000 (at 0.001)", "5000", "5.00"),
    ("provider_charge", "Twilio: SMS delivery", "1", "13.57"),
    ("provider_charge", "AWS: Egress", "1", "8.25"),
]


def line_rows(invoice):
    return [
        (
            line.kind,
            line.description,
            None if line.quantity is None else f"{line.quantity.normalize():f}",
            f"{line.amount}",
        )
        for line in invoice.lines.order_by("position")
    ]


def generate(organization, period=OCTOBER, now=AFTER_OCTOBER):
    return services.invoices_generate(organization=organization, period=period, now=now)


def test_month_with_bundle_tiers_agents_minimum_and_provider_charges(
    organization, october
):
    result = generate(organization)

    invoice = Invoice.objects.get(customer=october)
    assert result.created == 1
    assert line_rows(invoice) == EXPECTED_OCTOBER
    assert invoice.subtotal == Decimal("190.02")
    assert invoice.total == Decimal("190.02")
    assert invoice.total == sum(line.amount for line in invoice.lines.all())
    assert (invoice.status, invoice.number) == ("draft", "")
    assert (invoice.period_start, invoice.period_end) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert (invoice.customer_external_id, invoice.billing_model_name) == (
        "acme",
        "Token plan",
    )
    assert set(ProviderCharge.objects.values_list("invoice_id", flat=True)) == {
        invoice.pk
    }


def test_regenerating_a_period_is_idempotent(organization, october):
    generate(organization)
    second = generate(organization)

    assert Invoice.objects.count() == 1
    assert (second.created, second.refreshed) == (0, 1)
    invoice = Invoice.objects.get()
    assert line_rows(invoice) == EXPECTED_OCTOBER
    assert invoice.lines.count() == len(EXPECTED_OCTOBER)


def test_generation_refuses_an_open_period(organization, october):
    with pytest.raises(DomainError, match="The period 2026-10 has not closed yet."):
        generate(organization, now=at(31, 23))


def test_late_events_in_the_grace_window_refresh_the_draft(organization, october):
    generate(organization)
    ingest(october, "pdf.export", [100], when=at(31, 23), now=AFTER_OCTOBER)

    generate(organization, now=AFTER_OCTOBER + timedelta(hours=1))

    invoice = Invoice.objects.get()
    assert invoice.lines.get(description="pdf.export").amount == Decimal("6.50")
    assert invoice.total == Decimal("195.02")


def test_late_events_after_finalization_go_to_the_next_invoice(organization, october):
    generate(organization)
    finalized = services.invoice_finalize(
        invoice=Invoice.objects.get(), now=AFTER_OCTOBER + timedelta(hours=25)
    )
    late_arrival = AFTER_OCTOBER + timedelta(days=2)
    ingest(october, "pdf.export", [100], when=at(31, 23), now=late_arrival)
    ingest(october, "pdf.export", [20], when=at(3, 9, month=11), now=at(3, 10, 11))

    november = Period(MONTHLY, date(2026, 11, 1))
    generate(organization, period=november, now=datetime(2026, 12, 1, 1, tzinfo=UTC))

    finalized.refresh_from_db()
    assert finalized.total == Decimal("190.02")
    assert line_rows(finalized) == EXPECTED_OCTOBER
    following = Invoice.objects.get(period_start=november.start)
    adjustment = following.lines.get(kind="adjustment")
    assert adjustment.amount == Decimal("5.00")
    assert adjustment.adjusts_invoice == finalized
    assert adjustment.description == (
        f"Late usage for 2026-10 (invoice {finalized.number})"
    )
    # November: subscription, pdf.export 20 x 0.05, api_calls minimum, tokens fee.
    assert following.subtotal == Decimal("49.00") + Decimal("1.00") + Decimal(
        "25.00"
    ) + Decimal("30.00")
    assert following.total == following.subtotal + Decimal("5.00")

    # Refreshing November does not bill the correction twice.
    generate(organization, period=november, now=datetime(2026, 12, 1, 2, tzinfo=UTC))
    assert InvoiceLine.objects.filter(kind="adjustment").count() == 1


def test_a_crash_while_writing_leaves_no_partial_invoice(
    organization, october, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(generation, "_insert_lines", broken)
    with pytest.raises(RuntimeError):
        generate(organization)

    assert Invoice.objects.count() == 0
    assert ProviderCharge.objects.filter(invoice__isnull=False).count() == 0


def test_customers_with_nothing_to_bill_get_no_invoice(organization, october):
    CustomerFactory(organization=organization)
    generate(organization)
    assert Invoice.objects.count() == 1


def test_daily_frequency_invoices_each_day(organization):
    model = BillingModelFactory(organization=organization, name="Daily calls")
    ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="api_calls",
        price_per_unit=Decimal("0.10"),
        base_agent_fee=Decimal("1.00"),
        minimum_charge=Decimal("2.00"),
        billing_frequency="daily",
    )
    customer = CustomerFactory(organization=organization)
    SubscriptionFactory(customer=customer, billing_model=model, agents=3)
    ingest(customer, "api_calls", [7, 8], when=at(3, 10))
    ingest(customer, "api_calls", [5], when=at(4, 10))

    day = Period(DAILY, date(2026, 10, 3))
    generate(organization, period=day, now=at(4, 1))
    generate(organization, period=OCTOBER)

    invoice = Invoice.objects.get(frequency=DAILY)
    assert (invoice.period_start, invoice.period_end) == (day.start, day.start)
    assert line_rows(invoice) == [
        ("base_fee", "Api calls — base fee (3 agents at USD 1.00)", "3", "3.00"),
        ("usage", "Api calls — usage (at 0.1)", "15", "1.50"),
    ]
    assert invoice.total == Decimal("4.50")
    # The daily activity is not billed again on the monthly invoice.
    assert not Invoice.objects.filter(frequency=MONTHLY).exists()


def test_per_use_events_are_priced_one_by_one_on_a_daily_invoice(organization):
    model = BillingModelFactory(organization=organization, name="Per call")
    ActivityBasedConfigFactory(
        billing_model=model,
        activity_type="render",
        price_per_unit=Decimal("0.015"),
        minimum_charge=Decimal("0.05"),
        billing_frequency="per_use",
    )
    customer = CustomerFactory(organization=organization)
    SubscriptionFactory(customer=customer, billing_model=model)
    # 1 unit -> 0.015 -> 0.02, floored to 0.05; 3 units -> 0.045 -> 0.05;
    # 10 units -> 0.15. Each use is rounded and floored on its own.
    ingest(customer, "render", [1, 1, 3, 10], when=at(3, 10))

    generate(organization, period=Period(DAILY, date(2026, 10, 3)), now=at(4, 1))

    invoice = Invoice.objects.get()
    assert line_rows(invoice) == [
        ("usage", "render: 4 use(s), 15 unit(s), priced per use", "4", "0.30"),
    ]
    assert invoice.total == Decimal("0.30")


def test_finalize_numbers_invoices_from_a_gap_free_sequence(organization, october):
    other = CustomerFactory(organization=organization)
    ProviderChargeFactory(customer=other, amount=Decimal("1.00"))
    generate(organization)
    first, second = Invoice.objects.order_by("customer_external_id")
    InvoicingSettingsFactory(organization=organization)

    services.invoice_finalize(invoice=first, now=AFTER_OCTOBER)
    with pytest.raises(InvalidTransition):
        services.invoice_finalize(invoice=first, now=AFTER_OCTOBER)
    services.invoice_finalize(invoice=second, now=AFTER_OCTOBER)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, second.number) == ("INV-000001", "INV-000002")
    assert first.issued_on == date(2026, 11, 1)
    assert first.due_on == date(2026, 12, 1)


def test_finalized_invoices_are_immutable(organization, october):
    generate(organization)
    invoice = services.invoice_finalize(
        invoice=Invoice.objects.get(), now=AFTER_OCTOBER
    )

    invoice.total = Decimal("1.00")
    with pytest.raises(InvalidTransition, match="is finalized and cannot be edited"):
        invoice.save()
    line = invoice.lines.first()
    line.amount = Decimal("0.01")
    with pytest.raises(InvalidTransition, match="its lines cannot change"):
        line.save()
    with pytest.raises(InvalidTransition):
        line.delete()
    with pytest.raises(DatabaseError, match="cannot"), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total=Decimal("1.00"))
    with pytest.raises(DatabaseError, match="cannot"), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoice).update(amount=Decimal("0"))

    # Regenerating the period leaves it as issued.
    result = generate(organization)
    assert result.already_issued == 1
    invoice.refresh_from_db()
    assert invoice.total == Decimal("190.02")


def test_lifecycle_paid_and_void_with_credit_note(organization, october):
    generate(organization)
    invoice = Invoice.objects.get()
    with pytest.raises(InvalidTransition, match="is draft, cannot mark it paid"):
        services.invoice_mark_paid(invoice=invoice, now=AFTER_OCTOBER)
    with pytest.raises(InvalidTransition, match="is draft, cannot void"):
        services.invoice_void(invoice=invoice, now=AFTER_OCTOBER)

    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    credit_note = services.invoice_void(
        invoice=invoice, now=AFTER_OCTOBER, reason="Wrong customer"
    )

    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert (credit_note.number, credit_note.amount) == ("CN-000001", Decimal("190.02"))
    assert CreditNote.objects.get().invoice == invoice
    assert invoice.lines.count() == len(EXPECTED_OCTOBER)
    with pytest.raises(InvalidTransition, match="is void, cannot finalize"):
        services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)

    # The period can be invoiced again; provider charges move to the new draft.
    generate(organization)
    replacement = Invoice.objects.get(status="draft")
    assert replacement.total == Decimal("190.02")
    assert ProviderCharge.objects.filter(invoice=replacement).count() == 2


def test_paid_invoice_cannot_be_voided(organization, october):
    generate(organization)
    invoice = services.invoice_finalize(
        invoice=Invoice.objects.get(), now=AFTER_OCTOBER
    )
    services.invoice_mark_paid(invoice=invoice, now=AFTER_OCTOBER)
    with pytest.raises(InvalidTransition, match="is paid, cannot void"):
        services.invoice_void(invoice=invoice, now=AFTER_OCTOBER)


def test_cycle_finalizes_drafts_after_the_grace_window(organization, october):
    services.invoicing_cycle_run(organization=organization, now=AFTER_OCTOBER)
    assert Invoice.objects.get().status == "draft"

    result = services.invoicing_cycle_run(
        organization=organization, now=datetime(2026, 11, 2, 0, 5, tzinfo=UTC)
    )

    invoice = Invoice.objects.get()
    assert invoice.status == "finalized"
    assert invoice.number == "INV-000001"
    assert [i.pk for i in result.finalized.finalized] == [invoice.pk]


def test_customer_with_invoices_cannot_be_deleted(organization, october):
    generate(organization)
    with pytest.raises(DomainError) as error:
        customer_delete(customer=october)
    assert error.value.field == "customer"
    assert error.value.message == (
        "Customer acme has 1 invoice(s) and cannot be deleted."
    )


def test_one_invoice_per_customer_and_period_in_the_database(organization, october):
    generate(organization)
    invoice = Invoice.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            organization=organization,
            customer=october,
            frequency=MONTHLY,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            currency="USD",
        )


def test_provider_charges_csv_import(organization, october):
    text = (
        "customer_id,provider,period,amount,description,external_ref\n"
        "acme,Twilio,2026-10,3.10,SMS,tw-1\n"
        "acme,Twilio,2026-10,3.10,SMS,tw-1\n"
    )
    result = services.provider_charges_import(organization=organization, text=text)
    assert (result.created, result.skipped, result.errors) == (1, 1, [])

    bad = "customer_id,provider,period,amount\nnobody,X,2026-10,1\nacme,X,2026-13,a\n"
    result = services.provider_charges_import(organization=organization, text=bad)
    assert result.errors == [
        "row 2: customer_id: Unknown customer 'nobody'.",
        "row 3: period: Use YYYY-MM or YYYY-MM-DD, not '2026-13'.",
    ]
    assert ProviderCharge.objects.filter(provider="X").count() == 0


def test_new_subscription_ends_the_open_one(organization, hybrid_model):
    customer = CustomerFactory(organization=organization)
    first = services.subscription_create(
        organization=organization,
        customer=customer,
        billing_model=hybrid_model,
        agents=1,
        starts_at=at(1),
    )
    services.subscription_create(
        organization=organization,
        customer=customer,
        billing_model=hybrid_model,
        agents=4,
        starts_at=at(15),
    )
    first.refresh_from_db()
    assert first.ends_at == at(15)
    with pytest.raises(DomainError) as error:
        services.subscription_create(
            organization=organization,
            customer=customer,
            billing_model=hybrid_model,
            agents=4,
            starts_at=at(2),
        )
    assert error.value.field == "starts_at"


def test_monthly_usage_from_counters_equals_the_events_late_ones_included(
    organization, october
):
    ingest(october, "pdf.export", [7, 3], when=at(31, 23), now=AFTER_OCTOBER)
    start, end = OCTOBER.bounds

    from_counters = selectors.period_usage(organization=organization, period=OCTOBER)
    from_events = selectors.usage_by_customer(
        organization=organization, start=start, end=end
    )

    assert from_counters == from_events
    assert from_counters[october.pk]["pdf.export"] == Decimal("40")


def test_lines_must_belong_to_an_existing_draft_invoice_in_the_database(
    organization, october
):
    generate(organization)
    invoice = Invoice.objects.get()
    with pytest.raises(DatabaseError, match="must belong to an invoice"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO invoices_invoiceline (invoice_id, position, kind, "
                "description, amount, operation, activity_type, reference) "
                "VALUES (%s, 1, 'overage', 'x', 1, '', '', '')",
                [invoice.pk + 1000],
            )
    with pytest.raises(DatabaseError, match="must adjust an existing invoice"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO invoices_invoiceline (invoice_id, position, kind, "
                "description, amount, operation, activity_type, reference, "
                "adjusts_invoice_id) VALUES (%s, 99, 'adjustment', 'x', 1, '', '', "
                "'', %s)",
                [invoice.pk, invoice.pk + 1000],
            )
    with pytest.raises(DatabaseError, match="has lines, it cannot be deleted"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM invoices_invoice WHERE id = %s", [invoice.pk])

    services.invoice_finalize(invoice=invoice, now=AFTER_OCTOBER)
    with pytest.raises(DatabaseError, match="is finalized, its lines cannot change"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO invoices_invoiceline (invoice_id, position, kind, "
                "description, amount, operation, activity_type, reference) "
                "VALUES (%s, 99, 'overage', 'x', 1, '', '', '')",
                [invoice.pk],
            )
    with pytest.raises(DatabaseError, match="is finalized, its lines cannot change"):
        with transaction.atomic():
            InvoiceLine.objects.filter(invoice=invoice).delete()
    assert invoice.lines.count() == len(EXPECTED_OCTOBER)


def test_deleting_a_draft_through_the_orm_deletes_its_lines(organization, october):
    generate(organization)
    Invoice.objects.get().delete()
    assert (Invoice.objects.count(), InvoiceLine.objects.count()) == (0, 0)


def test_generation_in_customer_slices_equals_one_run(organization, october):
    others = [
        CustomerFactory(organization=organization, external_id=f"c{i}")
        for i in range(4)
    ]
    for number, customer in enumerate(others, start=1):
        ingest(customer, "pdf.export", [10 * number], when=at(2))

    slices = selectors.customer_id_slices(organization=organization, parts=2)
    assert slices == [
        [october.pk, others[0].pk, others[1].pk],
        [others[2].pk, others[3].pk],
    ]
    for ids in slices:
        services.invoices_generate(
            organization=organization,
            period=OCTOBER,
            now=AFTER_OCTOBER,
            customer_ids=ids,
        )

    totals = dict(Invoice.objects.values_list("customer_external_id", "total"))
    assert totals == {
        "acme": Decimal("190.02"),
        "c0": Decimal("0.50"),
        "c1": Decimal("1.00"),
        "c2": Decimal("1.50"),
        "c3": Decimal("2.00"),
    }
    assert line_rows(Invoice.objects.get(customer=october)) == EXPECTED_OCTOBER


def test_line_texts_with_tabs_newlines_and_backslashes_are_stored_as_given(
    organization, october
):
    ProviderChargeFactory(
        customer=october,
        provider="Carrier",
        amount=Decimal("1.00"),
        description="zone\tA \\ B\r\nsecond line",
    )
    generate(organization)

    line = InvoiceLine.objects.get(description__startswith="Carrier")
    assert line.description == "Carrier: zone\tA \\ B\r\nsecond line"
    assert line.amount == Decimal("1.10")


def test_a_refreshed_draft_keeps_its_lines_until_they_rate_differently(
    organization, october
):
    generate(organization)
    first = set(InvoiceLine.objects.values_list("id", flat=True))

    result = generate(organization, now=AFTER_OCTOBER + timedelta(hours=1))

    invoice = Invoice.objects.get()
    assert result.refreshed == 1
    assert set(InvoiceLine.objects.values_list("id", flat=True)) == first
    assert invoice.rated_at == AFTER_OCTOBER + timedelta(hours=1)
    assert ProviderCharge.objects.filter(invoice=invoice).count() == 2

    ingest(october, "pdf.export", [100], when=at(31, 23), now=AFTER_OCTOBER)
    generate(organization, now=AFTER_OCTOBER + timedelta(hours=2))

    invoice.refresh_from_db()
    assert first.isdisjoint(InvoiceLine.objects.values_list("id", flat=True))
    assert invoice.lines.get(description="pdf.export").amount == Decimal("6.50")
    assert invoice.total == Decimal("195.02")
    assert ProviderCharge.objects.filter(invoice=invoice).count() == 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_chunks_are_written_while_the_next_is_rated(
    organization, october, monkeypatch
):
    second = CustomerFactory(organization=organization, external_id="second")
    ingest(second, "pdf.export", [10], when=at(2))
    third = CustomerFactory(organization=organization, external_id="third")
    ingest(third, "pdf.export", [20], when=at(2))
    writer_threads = set()
    insert_lines = generation._insert_lines

    def recording(written, texts):
        writer_threads.add(threading.get_ident())
        if any(
            invoice.customer_id == third.pk
            for invoice in Invoice.objects.filter(
                pk__in=[invoice_id for invoice_id, _ in written]
            )
        ):
            raise RuntimeError("disk full")
        insert_lines(written, texts)

    monkeypatch.setattr(generation, "_insert_lines", recording)
    with pytest.raises(RuntimeError, match="disk full"):
        services.invoices_generate(
            organization=organization, period=OCTOBER, now=AFTER_OCTOBER, chunk_size=1
        )

    assert writer_threads and threading.get_ident() not in writer_threads
    # The chunks before the failure are committed whole; the failed one is not.
    assert dict(Invoice.objects.values_list("customer_external_id", "total")) == {
        "acme": Decimal("190.02"),
        "second": Decimal("0.50"),
    }
    assert line_rows(Invoice.objects.get(customer=october)) == EXPECTED_OCTOBER
