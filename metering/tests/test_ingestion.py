from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from metering.ingestion import Limits, clean_event, month_start, payload_hash

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LIMITS = Limits(future_window=timedelta(seconds=300), max_properties_bytes=16_384)


def clean(raw: dict):
    return clean_event(raw, now=NOW, open_period_start=month_start(NOW), limits=LIMITS)


def event(**overrides) -> dict:
    row = {
        "event_id": "e",
        "customer_id": "cus_1",
        "operation": "image.resize",
        "quantity": "2.5",
        "occurred_at": "2026-11-21T13:59:00+02:00",
        "user_id": "u-7",
        "data_volume_bytes": 2048,
        "process_id": "p-1",
        "context": "editor",
        "properties": {"width": 640, "height": 480},
    }
    row.update(overrides)
    return row


def test_payload_hash_is_stable_across_releases():
    # Keys stored by earlier releases hold these digests; a resend must match.
    full, errors = clean(event())
    assert errors == {}
    assert full.payload_hash.hex() == "15db5d29d9ceb6bcecce9b6ba64bd571"
    minimal, _ = clean(
        {
            "event_id": "e",
            "customer_id": 42,
            "operation": "image.resize",
            "quantity": 3,
            "occurred_at": "2026-11-21T11:59:00.250Z",
        }
    )
    assert minimal.payload_hash.hex() == "bb31905d8370d93c93bc915759c8d768"


def test_clean_event_normalises_values():
    cleaned, _ = clean(event(quantity=7))
    assert cleaned.quantity == "7.000000"
    assert cleaned.occurred_at == datetime(2026, 11, 21, 11, 59, tzinfo=UTC)
    assert cleaned.properties_json == '{"height":480,"width":640}'
    assert cleaned.is_late is False
    assert cleaned.payload_hash == payload_hash(
        customer_key="cus_1",
        operation="image.resize",
        quantity="7.000000",
        occurred_at=datetime(2026, 11, 21, 11, 59, tzinfo=UTC),
        user_id="u-7",
        data_volume_bytes=2048,
        process_id="p-1",
        context="editor",
        properties_json=b'{"height":480,"width":640}',
    )


def test_clean_event_names_each_bad_field():
    _, errors = clean(
        event(
            event_id="x" * 129,
            customer_id=None,
            operation="-bad",
            quantity=True,
            occurred_at="2026-11-21T11:59:00",
            user_id=5,
            data_volume_bytes=-1,
            process_id="a\x00b",
            context="c" * 257,
            properties=[1],
            extra=1,
        )
    )
    assert errors == {
        "extra": ["Unknown field."],
        "event_id": ["Ensure this field has no more than 128 characters."],
        "customer_id": ["This field is required."],
        "operation": [
            "Use letters, digits and . _ : / - only, starting with a letter or digit."
        ],
        "quantity": ["Must be a number."],
        "occurred_at": ["Must include a time zone, e.g. 'Z' or '+02:00'."],
        "user_id": ["Must be a string."],
        "process_id": ["Must not contain NUL characters."],
        "context": ["Ensure this field has no more than 256 characters."],
        "data_volume_bytes": ["Must not be negative."],
        "properties": ["Must be a JSON object."],
    }


def test_clean_event_rejects_future_and_accepts_late():
    _, errors = clean(event(occurred_at="2026-11-21T12:05:01Z"))
    assert errors == {
        "occurred_at": ["Must not be more than 300 seconds in the future."]
    }
    late, _ = clean(event(occurred_at="2026-10-31T23:59:59Z"))
    assert late.is_late is True


@given(
    quantity=st.integers(min_value=0, max_value=10**12 - 1),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_spellings_of_one_event_hash_alike(quantity, offset_minutes):
    moment = datetime(2026, 11, 20, 8, 30, 15, 500, tzinfo=UTC)
    offset = timedelta(minutes=offset_minutes)
    local = moment.astimezone(timezone(offset))
    as_int, _ = clean(event(quantity=quantity, occurred_at=moment.isoformat()))
    as_text, _ = clean(event(quantity=f"{quantity}.0", occurred_at=local.isoformat()))
    assert as_int.payload_hash == as_text.payload_hash
    assert (
        as_int.quantity
        == as_text.quantity
        == str(Decimal(quantity).quantize(Decimal("0.000001")))
    )
    other, _ = clean(event(quantity=quantity + 1, occurred_at=moment.isoformat()))
    assert other.payload_hash != as_int.payload_hash


def test_time_spellings_hash_alike():
    spellings = [
        "2026-11-21T11:59:00Z",
        "2026-11-21T11:59:00+00:00",
        "2026-11-21T11:59:00-00:00",
        "2026-11-21T13:59:00+02:00",
        "2026-11-21T11:59:00.000+00:00",
        "2026-11-21 11:59:00Z",
        "2026-11-21 11:59:00+00:00",
        "2026-W47-6T11:59:00+00:00",
        "20261121T115900Z",
    ]
    hashes = {clean(event(occurred_at=text))[0].payload_hash for text in spellings}
    assert hashes == {clean(event(occurred_at="2026-11-21T11:59:00Z"))[0].payload_hash}
    assert (
        len(hashes | {clean(event(occurred_at="2026-11-21T11:59:01Z"))[0].payload_hash})
        == 2
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@given(
    field=st.sampled_from(
        [
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
        ]
    ),
    value=json_values,
)
@example(field="operation", value=["image.resize"])
@example(field="quantity", value=float("nan"))
def test_any_json_value_is_cleaned_or_named(field, value):
    cleaned, errors = clean(event(**{field: value}))
    assert (cleaned is None) == bool(errors)
    if errors:
        assert set(errors) == {field}


def test_properties_with_an_integer_beyond_64_bits_are_rejected_by_name():
    cleaned, errors = clean(event(properties={"n": 2**64}))
    assert cleaned is None
    assert errors == {
        "properties": [
            "Must be a JSON object with string keys and integers within 64 bits."
        ]
    }
