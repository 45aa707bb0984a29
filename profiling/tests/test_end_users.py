"""End users inside customers' accounts: regrouping, stored profiles, API, page."""

import numpy as np
import pytest
from django.urls import reverse

from metering.models import Customer
from profiling import end_users
from profiling.features import EventArrays
from profiling.models import EndUserProfile

pytestmark = pytest.mark.django_db

# Neither is "growing": trends compare the halves of each one's own span (first
# event to the window end), and both worked in one burst at the start of theirs.
ALICE_TAGS = [
    {
        "name": "night-owl",
        "score": 1.0,
        "explanation": "100% of events between 22:00 and 06:00",
    },
    {
        "name": "heavy:data.*",
        "score": 0.5,
        "explanation": "50% of events are data.* operations",
    },
    {
        "name": "heavy:ml.*",
        "score": 0.5,
        "explanation": "50% of events are ml.* operations",
    },
]
BOB_TAGS = [
    {
        "name": "export-power-user",
        "score": 1.0,
        "explanation": "100% of events match export.*",
    },
    {
        "name": "heavy:export.*",
        "score": 1.0,
        "explanation": "100% of events are export.* operations",
    },
]
ALICE_TOP = [
    {"operation": "data.query", "share": 0.5},
    {"operation": "ml.train", "share": 0.5},
]
BOB_TOP = [
    {"operation": "export.csv", "share": 0.5},
    {"operation": "export.pdf", "share": 0.5},
]


def _arrays(customer, operation, timestamp) -> EventArrays:
    return EventArrays(
        customer=np.array(customer),
        operation=np.array(operation),
        timestamp=np.array(timestamp),
        volume=np.full(len(customer), np.nan),
        customer_count=max(customer) + 1,
        operations=("a", "b", "c"),
    )


def test_regroup_orders_events_by_end_user_keeping_time():
    events = _arrays([0, 0, 0, 0, 1, 1], [0, 1, 2, 0, 1, 2], [10, 20, 30, 40, 5, 6])
    keys = np.array([7, 3, 0, 7, 3, 3])
    users, customer, key = end_users.regroup(events, keys)
    assert users.customer.tolist() == [0, 1, 1, 2, 2]
    assert users.operation.tolist() == [1, 0, 0, 1, 2]
    assert users.timestamp.tolist() == [20, 10, 40, 5, 6]
    assert users.customer_count == 3
    assert customer.tolist() == [0, 0, 1]
    assert key.tolist() == [3, 7, 3]


def test_profile_without_end_users_is_empty():
    events = _arrays([0, 1], [0, 1], [10, 20])
    result = end_users.profile(
        events,
        np.zeros(2, dtype=np.int64),
        window_start=0,
        window_end=100,
        levels=[],
        labels=np.zeros(2, dtype=np.int64),
        rules=[],
    )
    assert len(result) == 0
    assert result.chain is None


def test_run_stores_one_profile_per_end_user(profiled_with_end_users):
    rows = [
        (
            p.customer.external_id,
            p.user_id,
            p.event_count,
            p.features["sessions"],
            p.features["top_operations"],
            p.recent_operations,
            p.tags,
        )
        for p in EndUserProfile.objects.filter(
            run=profiled_with_end_users
        ).select_related("customer")
    ]
    assert rows == [
        (
            "cus_000", "alice", 40, 1, ALICE_TOP,
            ["ml.train", "data.query", "ml.train"], ALICE_TAGS,
        ),
        (
            "cus_000", "bob", 4, 1, BOB_TOP,
            ["export.pdf", "export.csv", "export.pdf"], BOB_TAGS,
        ),
    ]  # fmt: skip
    assert "end_users" in profiled_with_end_users.timings


def test_end_user_next_operations_follow_their_own_habits(profiled_with_end_users):
    alice = EndUserProfile.objects.get(run=profiled_with_end_users, user_id="alice")
    probabilities = [item["probability"] for item in alice.next_operations]
    assert len(probabilities) == 5
    assert probabilities == sorted(probabilities, reverse=True)
    # After ml.train alice always runs data.query.
    assert alice.next_operations[0]["operation"] == "data.query"


def test_profile_api_lists_end_users(api_client, profiled_with_end_users):
    body = api_client.get("/api/v1/customers/cus_000/profile/").json()
    assert [
        (u["user_id"], u["events"], u["top_operations"], u["tags"])
        for u in body["end_users"]
    ] == [("alice", 40, ALICE_TOP, ALICE_TAGS), ("bob", 4, BOB_TOP, BOB_TAGS)]
    stored = EndUserProfile.objects.get(run=profiled_with_end_users, user_id="bob")
    assert body["end_users"][1]["next_operations"] == stored.next_operations
    other = api_client.get("/api/v1/customers/cus_001/profile/").json()
    assert other["end_users"] == []


def _predict(api_client, **payload):
    response = api_client.post(
        "/api/v1/customers/cus_000/predict-next/", payload, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()["predictions"]


def _probability(predictions, operation):
    return next(p["probability"] for p in predictions if p["operation"] == operation)


def test_predict_next_for_end_user_uses_their_chain(
    api_client, profiled_with_end_users
):
    sequence = ["data.query"]
    for_alice = _predict(api_client, sequence=sequence, k=12, user_id="alice")
    for_customer = _predict(api_client, sequence=sequence, k=12)
    assert for_alice[0]["operation"] == "ml.train"
    assert _probability(for_alice, "ml.train") > _probability(for_customer, "ml.train")


def test_predict_next_for_unknown_end_user_falls_back_to_customer(
    api_client, profiled_with_end_users
):
    sequence = ["export.csv", "export.pdf"]
    assert _predict(api_client, sequence=sequence, k=5, user_id="nobody") == (
        _predict(api_client, sequence=sequence, k=5)
    )
    assert _predict(api_client, sequence=sequence, k=5, user_id="") == (
        _predict(api_client, sequence=sequence, k=5)
    )


def test_predict_next_rejects_overlong_user_id(api_client, profiled_with_end_users):
    response = api_client.post(
        "/api/v1/customers/cus_000/predict-next/",
        {"sequence": [], "user_id": "u" * 129},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"user_id": ["Ensure this field has no more than 128 characters."]}
    }


def test_customer_profile_page_lists_end_users(staff_client, profiled_with_end_users):
    customer = Customer.objects.get(external_id="cus_000")
    response = staff_client.get(reverse("staff:profiling-customer", args=[customer.pk]))
    assert response.status_code == 200
    assert [u.user_id for u in response.context["end_users"]] == ["alice", "bob"]
    html = response.content.decode()
    assert '<table class="end-users">' in html
    assert '<span class="tag" title="100% of events between 22:00 and 06:00">' in html
