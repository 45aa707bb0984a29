"""Spend alerts: the running bill of the billing period against the threshold,
evaluated in a task after each stored batch, once per period."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from invoices import selectors, tasks
from invoices.tests.conftest import at, ingest
from metering.models import AlertTrigger, WebhookEvent
from metering.services import usage_alert_create

# Ingestion commits for real: its after-commit work (the spend alert task) runs
# as in production.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.clock("2026-10-31T12:00:00+00:00"),
]

NOW = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)


def test_spend_alert_fires_once_when_the_running_bill_reaches_it(organization, october):
    before = selectors.current_usage_cost(customer=october, now=NOW).total
    reached = usage_alert_create(
        customer=october, kind="spend", threshold=before + Decimal("0.05")
    )
    higher = usage_alert_create(
        customer=october, kind="spend", threshold=Decimal("10000.00")
    )

    ingest(october, "pdf.export", [1], when=at(31, 11), now=NOW)
    ingest(october, "pdf.export", [1], when=at(31, 11), now=NOW)

    trigger = AlertTrigger.objects.get()
    assert (before, trigger.alert, trigger.value) == (
        Decimal("190.02"),
        reached,
        Decimal("190.07"),
    )
    assert not higher.triggers.exists()
    event = WebhookEvent.objects.get(type="alert.triggered")
    assert event.payload["alert"] == {
        "id": reached.pk,
        "customer_id": "acme",
        "kind": "spend",
        "operation": None,
        "threshold": "190.07",
        "period": "billing_period",
    }
    assert event.payload["value"] == "190.07"


def test_batches_of_customers_without_spend_alerts_enqueue_nothing(
    organization, october, monkeypatch
):
    usage_alert_create(
        customer=october, kind="usage", operation="pdf.export", threshold=Decimal(1)
    )
    enqueued = []
    monkeypatch.setattr(
        tasks.spend_alerts_evaluate, "delay", lambda *args: enqueued.append(args)
    )

    ingest(october, "pdf.export", [1], when=at(31, 11), now=NOW)
    usage_alert_create(customer=october, kind="spend", threshold=Decimal("1.00"))
    ingest(october, "pdf.export", [2], when=at(31, 11), now=NOW)

    assert enqueued == [(organization.pk, [october.pk], NOW.isoformat())]


def test_spend_alert_task_wiring(organization, october):
    usage_alert_create(customer=october, kind="spend", threshold=Decimal("1.00"))

    fired = tasks.spend_alerts_evaluate.delay(
        organization.pk, [october.pk], NOW.isoformat()
    ).get()

    assert fired == 1
