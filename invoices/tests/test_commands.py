from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from invoices.models import Invoice, ProviderCharge

pytestmark = pytest.mark.django_db

# October 2026 has closed (an hour ago) when these commands run.
AFTER_OCTOBER_CLOSED = "2026-11-01T01:00:00+00:00"


@pytest.mark.clock(AFTER_OCTOBER_CLOSED)
def test_generate_invoices_command_is_idempotent(organization, october, capsys):
    call_command("generate_invoices", organization.slug, "--period", "2026-10")
    call_command("generate_invoices", organization.slug, "--period", "2026-10")

    invoice = Invoice.objects.get()
    assert invoice.total == Decimal("190.02")
    assert capsys.readouterr().out.splitlines() == [
        "2026-10: 1 created, 0 refreshed, 0 already issued, 0 upgrade offer(s).",
        "2026-10: 0 created, 1 refreshed, 0 already issued, 0 upgrade offer(s).",
    ]


@pytest.mark.clock(AFTER_OCTOBER_CLOSED)
def test_generate_invoices_command_fans_out_in_parts(organization, october, capsys):
    call_command(
        "generate_invoices", organization.slug, "--period", "2026-10", "--parts", "3"
    )

    assert Invoice.objects.get().total == Decimal("190.02")
    assert capsys.readouterr().out == "2026-10: 1 part(s) sent to the workers.\n"


def test_generate_invoices_command_rejects_bad_period(organization):
    with pytest.raises(CommandError, match="period: Use YYYY-MM or YYYY-MM-DD"):
        call_command("generate_invoices", organization.slug, "--period", "Oct")


def test_import_provider_charges_command(organization, october, tmp_path):
    path = tmp_path / "charges.csv"
    path.write_text(
        "customer_id,provider,period,amount,external_ref\nacme,Vonage,2026-10,2.5,v1\n"
    )
    call_command("import_provider_charges", organization.slug, str(path))
    assert ProviderCharge.objects.get(provider="Vonage").amount == Decimal("2.50")
