"""Storing usage events exactly once, with their counters and operation catalogue.

Exactly-once: the idempotency key ``(organization, event_id)`` is claimed in
``metering_usageeventkey`` in the same transaction that inserts the event and
increments its counter, so a key exists if and only if its event was durably
stored. A batch whose insert fails leaves no key behind and is counted once when
retried. A key already present is a duplicate when its payload hash matches and a
conflict otherwise; neither touches the stored event.

This module owns the batch: validation, outcomes, customer resolution and the
choice of storage. On PostgreSQL a batch is stored by ``ingest_postgresql`` (one
binary COPY into a temporary stage and two statements); other databases (the
SQLite demo) take the slower ORM path in ``ingest_orm`` with the same results.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction

from billing_site.collection import without_cycle_collection
from billing_site.transactions import in_outermost_atomic
from metering.ingestion import CleanEvent, EventCleaner, Limits, month_start
from metering.models import Customer, Organization, UsageAlert, UsageEventKey
from metering.services.alerts import alert_kinds_by_customer, usage_alerts_evaluate
from metering.services.ingest_orm import _store_orm as _store_orm
from metering.services.ingest_postgresql import (
    _store_postgresql as _store_postgresql,
)
from metering.signals import usage_batch_stored

MAX_BATCH_EVENTS = 10_000


class Status:
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(slots=True)
class EventOutcome:
    index: int  # position in the submitted list
    event_id: str
    status: str
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        row = {"index": self.index, "event_id": self.event_id, "status": self.status}
        if self.errors:
            row["errors"] = self.errors
        return row


@dataclass
class IngestResult:
    """The outcome of each submitted event, by position in the submitted list."""

    event_ids: list[str]
    statuses: list[str]
    # Field errors by position, for rejected and conflicting events only.
    errors: dict[int, dict[str, list[str]]]

    @property
    def outcomes(self) -> list[EventOutcome]:
        return [
            EventOutcome(index, event_id, status, self.errors.get(index, {}))
            for index, (event_id, status) in enumerate(
                zip(self.event_ids, self.statuses, strict=True)
            )
        ]

    def count(self, status: str) -> int:
        return self.statuses.count(status)

    @property
    def accepted(self) -> int:
        return self.count(Status.ACCEPTED)

    @property
    def duplicates(self) -> int:
        return self.count(Status.DUPLICATE)

    @property
    def conflicts(self) -> int:
        return self.count(Status.CONFLICT)

    @property
    def rejected(self) -> int:
        return self.count(Status.REJECTED)

    def summary(self) -> dict[str, int]:
        counts = Counter(self.statuses)
        return {key: counts[status] for status, key in _SUMMARY_KEYS.items()}

    def rows(self) -> list[dict]:
        """The outcomes as the API renders them (``EventOutcome.as_dict``)."""
        rows = [
            {"index": index, "event_id": event_id, "status": status}
            for index, (event_id, status) in enumerate(
                zip(self.event_ids, self.statuses, strict=True)
            )
        ]
        for index, errors in self.errors.items():
            rows[index]["errors"] = errors
        return rows


_SUMMARY_KEYS = {
    Status.ACCEPTED: "accepted",
    Status.DUPLICATE: "duplicates",
    Status.CONFLICT: "conflicts",
    Status.REJECTED: "rejected",
}


def ingest_limits() -> Limits:
    return Limits(
        future_window=timedelta(
            seconds=getattr(settings, "METERING_FUTURE_WINDOW_SECONDS", 300)
        ),
        max_properties_bytes=getattr(settings, "METERING_MAX_PROPERTIES_BYTES", 16_384),
    )


def _event_id_of(raw) -> str:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else ""


def usage_events_ingest(
    *, organization: Organization, events: list, now: datetime
) -> IngestResult:
    """Validate and store a batch of events as sent by a client.

    Returns one outcome per submitted event, in order: accepted (stored now),
    duplicate (stored before with the same payload), conflict (the id was stored
    with a different payload) or rejected (with ``{field: [message]}``). Valid
    events are stored even when others in the batch are rejected. ``now`` is the
    server's receive time; events before the current UTC month are flagged late.
    """
    with without_cycle_collection():
        return _ingest(organization=organization, events=events, now=now)


def _ingest(*, organization: Organization, events: list, now: datetime) -> IngestResult:
    clean = EventCleaner(
        now=now, open_period_start=month_start(now), limits=ingest_limits()
    ).clean
    count = len(events)
    event_ids = [""] * count
    statuses = [Status.ACCEPTED] * count
    errors: dict[int, dict[str, list[str]]] = {}
    # event_id -> first valid occurrence in the batch; positions[n] is the index
    # of the n-th entry
    first_seen: dict[str, CleanEvent] = {}
    positions: list[int] = []
    for index, raw in enumerate(events):
        event = clean(raw)
        if type(event) is dict:
            event_ids[index] = _event_id_of(raw)
            statuses[index] = Status.REJECTED
            errors[index] = event
            continue
        event_id = event_ids[index] = event.event_id
        earlier = first_seen.get(event_id)
        if earlier is None:
            first_seen[event_id] = event
            positions.append(index)
        elif earlier.payload_hash == event.payload_hash:
            statuses[index] = Status.DUPLICATE
        else:
            statuses[index] = Status.CONFLICT
            errors[index] = {"event_id": [_conflict_message(event_id)]}
    if first_seen:
        valid = list(first_seen.values())
        keys = {event.customer_key for event in valid}
        with transaction.atomic():
            customer_ids = _customer_ids(organization=organization, keys=keys)
            to_store = valid
            if len(customer_ids) < len(keys):
                to_store = []
                for index, event in zip(positions, valid, strict=True):
                    if event.customer_key in customer_ids:
                        to_store.append(event)
                    else:
                        statuses[index] = Status.REJECTED
                        errors[index] = {
                            "customer_id": [f"Unknown customer {event.customer_key!r}."]
                        }
            store = (
                _store_postgresql if connection.vendor == "postgresql" else _store_orm
            )
            unclaimed = (
                store(
                    organization=organization,
                    events=to_store,
                    customer_ids=customer_ids,
                    now=now,
                )
                if to_store
                else set()
            )
            stored_hashes = _stored_hashes(
                organization=organization, event_ids=sorted(unclaimed)
            )
        if to_store:
            _after_store(
                organization=organization,
                customer_ids=set(customer_ids.values()),
                now=now,
            )
        if unclaimed:
            for index, event in zip(positions, valid, strict=True):
                if event.event_id not in unclaimed:
                    continue
                if stored_hashes.get(event.event_id) == event.payload_hash:
                    statuses[index] = Status.DUPLICATE
                else:
                    statuses[index] = Status.CONFLICT
                    errors[index] = {"event_id": [_conflict_message(event.event_id)]}
    return IngestResult(event_ids=event_ids, statuses=statuses, errors=errors)


def _after_store(*, organization: Organization, customer_ids: set[int], now) -> None:
    """Usage alerts reached by the stored batch fire; the apps above metering
    hear of the batch's customers with spend alerts. One query when none of the
    batch's customers has an alert."""
    kinds = alert_kinds_by_customer(
        organization=organization, customer_ids=customer_ids
    )
    usage = {pk for pk, of in kinds.items() if UsageAlert.Kind.USAGE in of}
    spend = {pk for pk, of in kinds.items() if UsageAlert.Kind.SPEND in of}
    if usage:
        usage_alerts_evaluate(organization=organization, customer_ids=usage, now=now)
    if spend:
        usage_batch_stored.send(
            sender=Organization, organization=organization, customer_ids=spend, now=now
        )


def _conflict_message(event_id: str) -> str:
    return (
        f"Event {event_id!r} was already received with a different payload; "
        "use a new event_id for a new event."
    )


def _customer_ids(*, organization: Organization, keys: set[str]) -> dict[str, int]:
    """External id -> primary key; unknown ones are created if the organization
    allows it (concurrent creators agree through the unique constraint)."""
    found = _customers_by_key(organization=organization, keys=keys)
    missing = keys - found.keys()
    if missing and organization.auto_create_customers:
        Customer.objects.bulk_create(
            [
                Customer(organization=organization, external_id=key, name=key)
                for key in sorted(missing)
            ],
            ignore_conflicts=True,
        )
        found.update(
            Customer.objects.filter(
                organization=organization, external_id__in=missing
            ).values_list("external_id", "id")
        )
    return found


def _customers_by_key(*, organization: Organization, keys: set[str]) -> dict:
    if connection.vendor != "postgresql":
        return dict(
            Customer.objects.filter(
                organization=organization, external_id__in=keys
            ).values_list("external_id", "id")
        )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_KEYS_VERSION_SQL, (organization.pk,), prepare=True)
        row = cursor.fetchone()
        if row is None:  # the organization is being deleted
            return {}
        version = row[0]
        cached = _customer_cache.get(organization.pk)
        if cached is None or cached[0] != version:
            cached = (version, {})
            _customer_cache[organization.pk] = cached
        known = cached[1]
        found = {key: known[key] for key in keys if key in known}
        if len(found) == len(keys):
            return found
        # The keys as one JSON text: encoded in C, where an array parameter is
        # encoded element by element in Python.
        cursor.execute(
            _CUSTOMERS_BY_KEY_SQL,
            (
                orjson.dumps([key for key in keys if key not in found]).decode(),
                organization.pk,
            ),
            prepare=True,
        )
        rows = cursor.fetchall()
    found.update(rows)
    # Only committed customers may be remembered: inside an enclosing transaction
    # the rows found may include its own uncommitted ones.
    if in_outermost_atomic():
        if len(known) + len(rows) > CUSTOMER_CACHE_LIMIT:
            # Replaced, never emptied: another thread may be reading it.
            _customer_cache[organization.pk] = (version, dict(rows))
        else:
            known.update(rows)
    return found


# External id -> customer id per organization in this process, with the
# organization's customer_keys_version it is valid for. A database trigger raises
# the version when a customer is deleted or changes external id; each batch reads
# it in its own transaction, so a batch uses exactly the mappings a lookup of the
# customers would have found, without looking up the ones it knows.
_customer_cache: dict[int, tuple[int, dict[str, int]]] = {}
CUSTOMER_CACHE_LIMIT = 200_000  # per organization; started afresh beyond it
_KEYS_VERSION_SQL = (
    "SELECT customer_keys_version FROM metering_organization WHERE id = %s"
)
_CUSTOMERS_BY_KEY_SQL = (
    "SELECT c.external_id, c.id "
    "FROM json_array_elements_text(%s::json) AS k(external_id) "
    "JOIN metering_customer c ON c.external_id = k.external_id "
    "WHERE c.organization_id = %s"
)


def _stored_hashes(*, organization: Organization, event_ids: list[str]) -> dict:
    if not event_ids:
        return {}
    return {
        event_id: bytes(digest)
        for event_id, digest in UsageEventKey.objects.filter(
            organization=organization, event_id__in=event_ids
        ).values_list("event_id", "payload_hash")
    }
