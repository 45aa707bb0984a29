"""Invoice webhooks move onto metering's endpoints, events and deliveries.

Each organization's webhook URL and secret become an endpoint receiving
``invoice.finalized`` (the secret's bytes stay the signing key, spelled
``whsec_<base64>``); each delivery keeps its id, state, attempt count, last
outcome and dates, under an event carrying the invoice as it is now.
"""

import base64
import secrets

from django.core.management.color import no_style
from django.db import migrations


def _secret(raw: str) -> str:
    key = raw.encode() if raw else secrets.token_bytes(32)
    return "whsec_" + base64.b64encode(key).decode()


def _invoice_data(invoice) -> dict:
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "customer_id": invoice.customer_external_id,
        "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(),
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": str(invoice.subtotal),
        "total": str(invoice.total),
    }


def move_deliveries(apps, schema_editor):
    settings_model = apps.get_model("invoices", "InvoicingSettings")
    old_delivery = apps.get_model("invoices", "WebhookDelivery")
    endpoint_model = apps.get_model("metering", "WebhookEndpoint")
    event_model = apps.get_model("metering", "WebhookEvent")
    delivery_model = apps.get_model("metering", "WebhookDelivery")

    endpoints = {}
    for row in settings_model.objects.exclude(webhook_url="").order_by("pk"):
        endpoint = endpoint_model.objects.create(
            organization_id=row.organization_id,
            url=row.webhook_url,
            secret=_secret(row.webhook_secret),
            event_types=["invoice.finalized"],
        )
        endpoints[(row.organization_id, row.webhook_url)] = endpoint

    moved = []
    for old in old_delivery.objects.select_related("invoice").order_by("pk"):
        invoice = old.invoice
        event, _ = event_model.objects.get_or_create(
            organization_id=old.organization_id,
            type=old.event,
            key=f"invoice:{invoice.pk}",
            defaults={
                "payload": {"invoice": _invoice_data(invoice)},
                "occurred_at": invoice.finalized_at or old.created_at,
            },
        )
        moved.append(
            delivery_model(
                pk=old.pk,
                organization_id=old.organization_id,
                event=event,
                endpoint=endpoints.get((old.organization_id, old.url)),
                url=old.url,
                status=old.status,
                attempts=old.attempts,
                last_status_code=old.last_status_code,
                last_error=old.last_error,
                delivered_at=old.delivered_at,
            )
        )
    delivery_model.objects.bulk_create(moved)
    for old in old_delivery.objects.order_by("pk"):
        delivery_model.objects.filter(pk=old.pk).update(
            created_at=old.created_at, updated_at=old.updated_at
        )
    if moved:
        sequences = schema_editor.connection.ops.sequence_reset_sql(
            no_style(), [delivery_model]
        )
        for sql in sequences:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0008_invoice_guard_from_declaration"),
        ("metering", "0012_webhook_endpoints_events_deliveries"),
    ]

    operations = [
        migrations.RunPython(move_deliveries, migrations.RunPython.noop),
        migrations.RemoveField(model_name="invoicingsettings", name="webhook_secret"),
        migrations.RemoveField(model_name="invoicingsettings", name="webhook_url"),
        migrations.DeleteModel(name="WebhookDelivery"),
    ]
