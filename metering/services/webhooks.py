"""Outbound webhooks of every app: endpoints, emitting events, delivering them.

``webhook_event_emit`` records an event and one delivery per active endpoint that
subscribes to its type, and enqueues them after commit; ``webhook_delivery_attempt``
POSTs one delivery once, records the attempt and says when to retry
(``metering.webhook_signing.retry_delay_seconds``); ``webhook_delivery_resend``
starts a delivery over.
"""

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from billing_site.errors import InvalidTransition
from metering import webhook_signing
from metering.models import (
    Organization,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

WEBHOOK_TIMEOUT_SECONDS = 10
RESPONSE_EXCERPT_CHARS = 500
# Replies that may succeed later: timeouts, throttling and server errors.
_TRANSIENT_CODES = frozenset({408, 425, 429})


@transaction.atomic
def webhook_endpoint_create(
    *,
    organization: Organization,
    url: str,
    secret: str = "",
    event_types: list[str] | None = None,
    active: bool = True,
) -> WebhookEndpoint:
    """An endpoint; without ``secret`` a new random one is generated."""
    endpoint = WebhookEndpoint(
        organization=organization,
        url=url,
        secret=secret or webhook_signing.secret_generate(),
        event_types=list(event_types or []),
        active=active,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def webhook_event_emit(
    *,
    organization: Organization,
    type: str,  # noqa: A002 - the event's type, as the body names it
    payload: dict,
    now: datetime,
    key: str = "",
) -> WebhookEvent:
    """Record an event and queue it for each active endpoint receiving its type
    (sent after the surrounding transaction commits). With a ``key``, an event of
    that type and key is emitted once: a repeat returns the first one."""
    if type not in WebhookEvent.Type.values:
        raise ValueError(f"unknown webhook event type {type!r}")
    with transaction.atomic():
        if key:
            existing = WebhookEvent.objects.filter(
                organization=organization, type=type, key=key
            ).first()
            if existing is not None:
                return existing
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    organization=organization,
                    type=type,
                    payload=payload,
                    key=key,
                    occurred_at=now,
                )
        except IntegrityError:
            return WebhookEvent.objects.get(
                organization=organization, type=type, key=key
            )
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(
                organization=organization, active=True
            )
            if endpoint.receives(type)
        ]
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    organization=organization,
                    event=event,
                    endpoint=endpoint,
                    url=endpoint.url,
                    next_attempt_at=now,
                )
                for endpoint in endpoints
            ]
        )
        ids = [delivery.pk for delivery in deliveries]
        if ids:
            transaction.on_commit(lambda: _enqueue(ids))
    return event


def _enqueue(delivery_ids: list[int]) -> None:
    from metering.tasks import webhook_deliver

    for delivery_id in delivery_ids:
        webhook_deliver.delay(delivery_id)


def webhook_body(event: WebhookEvent) -> bytes:
    """The body POSTed for an event: ``{"type", "timestamp", "data"}``."""
    return json.dumps(
        {
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "data": event.payload,
        },
        sort_keys=True,
    ).encode()


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # the delivery's status after the attempt
    retry_in_seconds: int | None  # when pending: wait this long, then attempt again


def webhook_delivery_attempt(
    *, delivery_id: int, now: datetime, timeout: float = WEBHOOK_TIMEOUT_SECONDS
) -> AttemptOutcome:
    """POST a pending delivery once and record the attempt. 2xx delivers it; no
    reply, a 5xx, 408, 425 or 429 leaves it pending with the wait before the next
    attempt, until ``MAX_ATTEMPTS`` fail it; any other reply fails it for good.
    A delivered or failed delivery is left alone."""
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(
        pk=delivery_id
    )
    if delivery.status != WebhookDelivery.Status.PENDING:
        return AttemptOutcome(delivery.status, None)
    endpoint = delivery.endpoint
    if endpoint is None:
        return _record(
            delivery, now, code=None, error="The endpoint was deleted.", final=True
        )
    body = webhook_body(delivery.event)
    headers = webhook_signing.signed_headers(
        secret=endpoint.secret,
        message_id=delivery.event.message_id,
        timestamp=int(now.timestamp()),
        body=body,
    )
    request = urllib.request.Request(
        delivery.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    started = time.monotonic()
    excerpt = ""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            code = reply.status
            excerpt = _excerpt(reply)
        error = ""
    except urllib.error.HTTPError as failure:
        code, error = failure.code, str(failure.reason)[:300]
        excerpt = _excerpt(failure)
    except (urllib.error.URLError, OSError, ValueError) as failure:
        code, error = None, str(failure)[:300]
    duration_ms = int((time.monotonic() - started) * 1000)
    final = code is not None and code < 500 and code not in _TRANSIENT_CODES
    return _record(
        delivery,
        now,
        code=code,
        error=error,
        final=final,
        duration_ms=duration_ms,
        excerpt=excerpt,
    )


def _excerpt(reply) -> str:
    try:
        return reply.read(RESPONSE_EXCERPT_CHARS * 4).decode("utf-8", "replace")[
            :RESPONSE_EXCERPT_CHARS
        ]
    except (OSError, ValueError):
        return ""


@transaction.atomic
def _record(
    delivery: WebhookDelivery,
    now: datetime,
    *,
    code: int | None,
    error: str,
    final: bool,
    duration_ms: int = 0,
    excerpt: str = "",
) -> AttemptOutcome:
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=now,
        status_code=code,
        duration_ms=duration_ms,
        error=error,
        response_excerpt=excerpt,
    )
    delivery.attempts += 1
    delivery.last_status_code = code
    delivery.last_error = error
    delivery.next_attempt_at = None
    retry_in = None
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
    elif final:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        retry_in = webhook_signing.retry_delay_seconds(delivery.attempts)
        if retry_in is None:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(seconds=retry_in)
    delivery.save()
    return AttemptOutcome(delivery.status, retry_in)


@transaction.atomic
def webhook_delivery_resend(
    *, delivery: WebhookDelivery, now: datetime
) -> WebhookDelivery:
    """Send a delivery again, with a fresh round of attempts (earlier attempts
    stay recorded). A pending delivery is already being sent."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise InvalidTransition(
            f"webhook delivery {delivery.pk} is pending, it is being sent",
            field="status",
        )
    if delivery.endpoint_id is None:
        raise InvalidTransition(
            f"webhook delivery {delivery.pk} has no endpoint any more",
            field="endpoint",
        )
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.save()
    delivery_id = delivery.pk
    transaction.on_commit(lambda: _enqueue([delivery_id]))
    return delivery
