"""Webhook deliveries of invoice events: payload, signature, one attempt, giving up."""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import datetime

from invoices import selectors
from invoices.models import Invoice, WebhookDelivery

WEBHOOK_TIMEOUT_SECONDS = 10


class WebhookTransientError(ConnectionError):
    """The receiver could not be reached or answered 5xx; the task retries."""


def webhook_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body with the organization's secret>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_payload(invoice: Invoice, event: str) -> bytes:
    return json.dumps(
        {
            "event": event,
            "invoice": {
                "id": invoice.pk,
                "number": invoice.number,
                "customer_id": invoice.customer_external_id,
                "period_start": invoice.period_start.isoformat(),
                "period_end": invoice.period_end.isoformat(),
                "status": invoice.status,
                "currency": invoice.currency,
                "subtotal": str(invoice.subtotal),
                "total": str(invoice.total),
            },
        },
        sort_keys=True,
    ).encode()


def webhook_delivery_attempt(*, delivery: WebhookDelivery, now: datetime) -> None:
    """POST the signed event once. Raises ``WebhookTransientError`` (to be retried)
    when the receiver is unreachable or answers 5xx; a 4xx fails for good."""
    delivery = WebhookDelivery.objects.select_related("invoice").get(pk=delivery.pk)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return
    settings = selectors.invoicing_settings_for(organization=delivery.organization)
    body = webhook_payload(delivery.invoice, delivery.event)
    request = urllib.request.Request(
        delivery.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Billing-Event": delivery.event,
            "X-Billing-Delivery": str(delivery.pk),
            "X-Billing-Signature": webhook_signature(settings.webhook_secret, body),
        },
    )
    delivery.attempts += 1
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as reply:
            code = reply.status
        error = ""
    except urllib.error.HTTPError as failure:
        code, error = failure.code, str(failure.reason)[:300]
    except (urllib.error.URLError, OSError) as failure:
        code, error = None, str(failure)[:300]
    delivery.last_status_code = code
    delivery.last_error = error
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
    elif code is not None and code < 500:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise WebhookTransientError(f"webhook {delivery.pk}: {error or code}")


def webhook_delivery_give_up(*, delivery_id: int) -> None:
    WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.FAILED)
