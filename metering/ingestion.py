"""Validation and normalisation of usage events as integrations send them.

Pure: plain values in, dataclasses out; no ORM, no settings, no clock. The batch
endpoint runs this for every event, so it is written for speed: no serializer
objects, one pass over each event's keys, errors collected as ``{field: [message]}``.

Quantities sent as JSON numbers are parsed as binary floats by the JSON reader, so
exact values beyond 15 significant digits must be sent as decimal strings
(``"quantity": "123456789012.123456"``).
"""

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import orjson

from billing_site.decimals import PLAIN_DECIMAL_RE

MAX_QUANTITY = Decimal("1000000000000")
QUANTITY_STEP = Decimal("0.000001")
DEFAULT_QUANTITY_TEXT = "1.000000"
MAX_INT_QUANTITY = 10**12
MAX_DATA_VOLUME = 2**63 - 1

# Longest accepted value per string field, in characters.
STRING_LIMITS = {
    "event_id": 128,
    "customer_id": 128,
    "operation": 100,
    "user_id": 128,
    "process_id": 128,
    "context": 256,
}
OPTIONAL_STRINGS = ("user_id", "process_id", "context")
FIELDS = frozenset(
    {
        "event_id",
        "customer_id",
        "operation",
        "quantity",
        "occurred_at",
        "user_id",
        "data_volume_bytes",
        "process_id",
        "context",
        "properties",
    }
)
OPERATION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")
# The date and time separators of a time to the second as isoformat() spells it
# ("2026-11-21T10:00:00+00:00"), read as text[4:17:3]; fromisoformat() accepts only
# ASCII digits between them.
ISO_SEPARATORS = "--T::"

REQUIRED = "This field is required."
NOT_A_STRING = "Must be a string."
BAD_TIMESTAMP = "Must be an ISO 8601 date-time string with a time zone."


@dataclass(frozen=True)
class Limits:
    # How far past the server clock an occurred_at may be (client clock skew).
    future_window: timedelta
    # Largest accepted ``properties`` object, in bytes of compact JSON.
    max_properties_bytes: int


@dataclass(slots=True)
class CleanEvent:
    event_id: str
    customer_key: str  # the customer's external id as sent
    operation: str
    quantity: str  # canonical decimal text with six places, e.g. "2.500000"
    occurred_at: datetime  # UTC
    user_id: str
    data_volume_bytes: int | None
    process_id: str
    context: str
    properties_json: str  # compact JSON with sorted keys
    payload_hash: bytes  # 16 bytes, see payload_hash()
    is_late: bool


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the calendar month containing ``moment``."""
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` (a month start) shifted by whole months."""
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def _string(raw: dict, field: str, errors: dict, *, required: bool) -> str:
    value = raw.get(field)
    if value is None or value == "":
        if required:
            errors[field] = [REQUIRED]
        return ""
    if not isinstance(value, str):
        if field == "customer_id" and isinstance(value, int) and value >= 0:
            value = str(value)
        else:
            errors[field] = [NOT_A_STRING]
            return ""
    limit = STRING_LIMITS[field]
    if len(value) > limit:
        errors[field] = [f"Ensure this field has no more than {limit} characters."]
    elif "\x00" in value:
        errors[field] = ["Must not contain NUL characters."]
    return value


def _quantity(value, errors: dict) -> str:
    """The quantity as canonical text with six decimals (``"2.500000"``)."""
    if value is None:
        return DEFAULT_QUANTITY_TEXT
    if isinstance(value, bool):
        errors["quantity"] = ["Must be a number."]
        return DEFAULT_QUANTITY_TEXT
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            errors["quantity"] = ["Must be a finite number."]
            return DEFAULT_QUANTITY_TEXT
        # repr() gives the shortest decimal that reads back as this float.
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            errors["quantity"] = ["Must be a number."]
            return DEFAULT_QUANTITY_TEXT
        # Decimal() also reads "1_000", "٣" and "1e3": only plain decimals pass.
        if number.is_finite() and not PLAIN_DECIMAL_RE.fullmatch(value.strip()):
            errors["quantity"] = ["Must be a number."]
            return DEFAULT_QUANTITY_TEXT
    else:
        errors["quantity"] = ["Must be a number."]
        return DEFAULT_QUANTITY_TEXT
    if not number.is_finite():
        errors["quantity"] = ["Must be a finite number."]
    elif number < 0:
        errors["quantity"] = ["Must not be negative."]
    elif number > MAX_QUANTITY:
        errors["quantity"] = ["Must be at most 1000000000000."]
    else:
        quantised = number.quantize(QUANTITY_STEP)
        if quantised != number:
            errors["quantity"] = ["Must have at most 6 decimal places."]
        return str(quantised)
    return DEFAULT_QUANTITY_TEXT


def _occurred_at(
    value, errors: dict, *, latest: datetime, window: timedelta
) -> datetime | None:
    if value is None or value == "":
        errors["occurred_at"] = [REQUIRED]
        return None
    if not isinstance(value, str):
        errors["occurred_at"] = [BAD_TIMESTAMP]
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors["occurred_at"] = [BAD_TIMESTAMP]
        return None
    if moment.tzinfo is None:
        errors["occurred_at"] = ["Must include a time zone, e.g. 'Z' or '+02:00'."]
        return None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        errors["occurred_at"] = [BAD_TIMESTAMP]
        return None
    if moment > latest:
        seconds = int(window.total_seconds())
        errors["occurred_at"] = [
            f"Must not be more than {seconds} seconds in the future."
        ]
        return None
    return moment


def _data_volume(value, errors: dict) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            errors["data_volume_bytes"] = ["Must be a whole number of bytes."]
            return None
    if value < 0:
        errors["data_volume_bytes"] = ["Must not be negative."]
    elif value > MAX_DATA_VOLUME:
        errors["data_volume_bytes"] = [f"Must be at most {MAX_DATA_VOLUME}."]
    return value


def _properties(value, errors: dict, *, limit: int) -> bytes:
    if value is None:
        return b"{}"
    if not isinstance(value, dict):
        errors["properties"] = ["Must be a JSON object."]
        return b"{}"
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # integers beyond 64 bits, non-string keys
        errors["properties"] = [
            "Must be a JSON object with string keys and integers within 64 bits."
        ]
        return b"{}"
    if len(encoded) > limit:
        errors["properties"] = [f"Must be at most {limit} bytes of JSON."]
    elif b"\\u0000" in encoded:
        errors["properties"] = ["Must not contain NUL characters."]
    return encoded


def payload_hash(
    *,
    customer_key: str,
    operation: str,
    quantity: str,
    occurred_at: datetime,
    user_id: str,
    data_volume_bytes: int | None,
    process_id: str,
    context: str,
    properties_json: bytes,
) -> bytes:
    """BLAKE2b-128 of the normalised event without its id.

    Equal for two sendings of the same event however they were spelled ("1" and
    "1.0", "Z" and "+00:00", reordered properties); differs when any value differs.
    ``quantity`` is the canonical six-decimal text, ``occurred_at`` in UTC.
    """
    return _digest(
        customer_key,
        operation,
        quantity,
        occurred_at.isoformat(),
        user_id,
        data_volume_bytes,
        process_id,
        context,
        properties_json,
    )


def _digest(
    customer_key: str,
    operation: str,
    quantity: str,
    occurred_text: str,
    user_id: str,
    data_volume_bytes: int | None,
    process_id: str,
    context: str,
    properties_json: bytes,
) -> bytes:
    head = orjson.dumps(
        [
            customer_key,
            operation,
            quantity,
            occurred_text,
            user_id,
            data_volume_bytes,
            process_id,
            context,
        ]
    )
    digest = _BLAKE2B_128.copy()  # cheaper than constructing one per event
    digest.update(head + b"\n" + properties_json)
    return digest.digest()


_BLAKE2B_128 = hashlib.blake2b(digest_size=16)


def clean_event(
    raw, *, now: datetime, open_period_start: datetime, limits: Limits
) -> tuple[CleanEvent | None, dict[str, list[str]]]:
    """Validate one event as sent; ``(event, {})`` or ``(None, errors)``.

    ``open_period_start`` is the first instant of the period still open for
    billing; events that occurred before it are accepted and flagged ``is_late``.
    """
    event = EventCleaner(
        now=now, open_period_start=open_period_start, limits=limits
    ).clean(raw)
    if type(event) is dict:
        return None, event
    return event, {}


class EventCleaner:
    """``clean_event`` for many events received at the same instant.

    The common shapes (short strings, whole-number quantities, no properties or
    small ones) take a fast path of inline type and length checks; anything else
    goes through the per-field helpers, which produce the field errors.
    """

    __slots__ = ("latest", "limits", "open_period_start", "operations")

    def __init__(
        self, *, now: datetime, open_period_start: datetime, limits: Limits
    ) -> None:
        self.latest = now + limits.future_window
        self.open_period_start = open_period_start
        self.limits = limits
        # Operation codes already found valid: a batch repeats a few codes.
        self.operations: set[str] = set()

    def clean(self, raw) -> CleanEvent | dict[str, list[str]]:
        """The clean event, or the errors by field when it is not valid."""
        if not isinstance(raw, dict):
            return {"non_field_errors": ["Must be a JSON object."]}
        errors: dict[str, list[str]] = {}
        if not raw.keys() <= FIELDS:
            for field in raw.keys() - FIELDS:
                errors[str(field)] = ["Unknown field."]
        get = raw.get

        event_id = get("event_id")
        if not (type(event_id) is str and 0 < len(event_id) <= 128) or (
            "\x00" in event_id
        ):
            event_id = _string(raw, "event_id", errors, required=True)
        customer_key = get("customer_id")
        if not (type(customer_key) is str and 0 < len(customer_key) <= 128) or (
            "\x00" in customer_key
        ):
            customer_key = _string(raw, "customer_id", errors, required=True)
        operation = get("operation")
        if type(operation) is str and operation in self.operations:
            pass
        elif (
            type(operation) is str
            and len(operation) <= 100
            and OPERATION_RE.fullmatch(operation)
        ):
            self.operations.add(operation)
        else:
            operation = _string(raw, "operation", errors, required=True)
            if (
                operation
                and "operation" not in errors
                and not OPERATION_RE.fullmatch(operation)
            ):
                errors["operation"] = [
                    "Use letters, digits and . _ : / - only, "
                    "starting with a letter or digit."
                ]

        quantity = get("quantity")
        if type(quantity) is int and 0 <= quantity <= MAX_INT_QUANTITY:
            quantity = f"{quantity}.000000"
        else:
            quantity = _quantity(quantity, errors)

        occurred_text = get("occurred_at")
        try:
            occurred_at = datetime.fromisoformat(occurred_text)
            if occurred_at.tzinfo is not UTC:  # "Z" and "+00:00" give UTC itself
                if occurred_at.tzinfo is None:
                    raise ValueError
                occurred_at = occurred_at.astimezone(UTC)
            if occurred_at > self.latest:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            occurred_at = _occurred_at(
                occurred_text,
                errors,
                latest=self.latest,
                window=self.limits.future_window,
            )
        else:
            # The canonical spelling for the payload hash, without formatting
            # when the client sent it already.
            if len(occurred_text) == 25 and occurred_text[19:] == "+00:00":
                if occurred_text[4:17:3] != ISO_SEPARATORS:
                    occurred_text = occurred_at.isoformat()
            elif len(occurred_text) == 20 and occurred_text[19] == "Z":
                if occurred_text[4:17:3] == ISO_SEPARATORS:
                    occurred_text = occurred_text[:19] + "+00:00"
                else:
                    occurred_text = occurred_at.isoformat()
            else:
                occurred_text = occurred_at.isoformat()

        user_id = get("user_id", "")
        if type(user_id) is not str or len(user_id) > 128 or "\x00" in user_id:
            user_id = _string(raw, "user_id", errors, required=False)
        process_id = get("process_id", "")
        if type(process_id) is not str or len(process_id) > 128 or "\x00" in process_id:
            process_id = _string(raw, "process_id", errors, required=False)
        context = get("context", "")
        if type(context) is not str or len(context) > 256 or "\x00" in context:
            context = _string(raw, "context", errors, required=False)

        data_volume = get("data_volume_bytes")
        if data_volume is not None and not (
            type(data_volume) is int and 0 <= data_volume <= MAX_DATA_VOLUME
        ):
            data_volume = _data_volume(data_volume, errors)

        properties = get("properties")
        properties = (
            b"{}"
            if properties is None
            else _properties(properties, errors, limit=self.limits.max_properties_bytes)
        )

        if errors:
            return errors
        digest = _digest(
            customer_key,
            operation,
            quantity,
            occurred_text,
            user_id,
            data_volume,
            process_id,
            context,
            properties,
        )
        return CleanEvent(
            event_id,
            customer_key,
            operation,
            quantity,
            occurred_at,
            user_id,
            data_volume,
            process_id,
            context,
            properties.decode(),
            digest,
            occurred_at < self.open_period_start,
        )
