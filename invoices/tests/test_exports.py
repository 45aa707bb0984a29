"""The invoice CSV opens in a spreadsheet as data: text that would run as a
formula is quoted, amounts (credits included) stay numbers."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from invoices import exports, services
from invoices.models import Invoice
from invoices.tests.conftest import AFTER_OCTOBER, OCTOBER
from invoices.tests.factories import ProviderChargeFactory

pytestmark = pytest.mark.django_db


def test_csv_quotes_cells_a_spreadsheet_would_run(organization, october):
    october.name = '=HYPERLINK("https://evil.example","pay here")'
    october.save()
    ProviderChargeFactory(
        organization=organization,
        customer=october,
        provider="@Provider",
        period_start=date(2026, 10, 1),
        amount=Decimal("-5.00"),
        description="-1+2",
    )
    services.invoices_generate(
        organization=organization, period=OCTOBER, now=AFTER_OCTOBER
    )

    rows = list(
        csv.DictReader(io.StringIO(exports.invoices_csv(Invoice.objects.all())))
    )

    assert {row["customer_name"] for row in rows} == {
        '\'=HYPERLINK("https://evil.example","pay here")'
    }
    credit = next(row for row in rows if row["amount"] == "-5.50")
    assert (credit["description"], credit["unit_price"], credit["amount"]) == (
        "'@Provider: -1+2",
        "-5.5",
        "-5.50",
    )
