from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from metering.models import ApiKey, Operation
from metering.services import (
    api_key_create,
    api_key_hash,
    api_key_revoke,
    usage_counters_fold,
    usage_events_ingest,
)
from metering.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(staff=True))
    return client


def test_customer_changelist_query_count_is_bounded(
    admin_client, organization, django_assert_max_num_queries
):
    CustomerFactory.create_batch(60, organization=organization)
    with django_assert_max_num_queries(8):
        response = admin_client.get("/admin/metering/customer/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 60


def test_api_key_changelist_query_count_is_bounded(
    admin_client, organization, django_assert_max_num_queries
):
    for _ in range(20):
        api_key_create(organization=organization)
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/metering/apikey/").status_code == 200


def test_adding_a_key_in_admin_shows_the_secret_once(admin_client, organization):
    response = admin_client.post(
        "/admin/metering/apikey/add/",
        {"organization": organization.pk, "name": "from admin"},
        follow=True,
    )
    api_key = ApiKey.objects.get(organization=organization)
    shown = [str(m) for m in response.context["messages"] if "New API key" in str(m)]
    assert len(shown) == 1
    raw_key = shown[0].rsplit(" ", 1)[-1]
    assert api_key.hashed_key == api_key_hash(raw_key)
    assert raw_key.startswith(api_key.prefix)
    assert api_key.name == "from admin"


def test_revoke_action_reports_keys_already_revoked(admin_client, organization):
    active = api_key_create(organization=organization).api_key
    revoked = api_key_create(organization=organization).api_key
    api_key_revoke(api_key=revoked, now=timezone.now())
    response = admin_client.post(
        "/admin/metering/apikey/",
        {"action": "revoke", "_selected_action": [active.pk, revoked.pk]},
        follow=True,
    )
    shown = sorted(str(m) for m in response.context["messages"])
    assert shown == sorted(
        [
            f"Revoked {active.prefix}…",
            f"API key {revoked.prefix} is already revoked",
        ]
    )
    active.refresh_from_db()
    assert active.revoked_at is not None


def test_usage_counter_changelist_adds_increments_not_folded_yet(
    admin_client, organization
):
    CustomerFactory(organization=organization, external_id="alice")
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)

    def send(event_id: str, quantity: str) -> None:
        usage_events_ingest(
            organization=organization,
            events=[
                {
                    "event_id": event_id,
                    "customer_id": "alice",
                    "operation": "image.resize",
                    "quantity": quantity,
                    "occurred_at": "2026-11-21T11:00:00Z",
                }
            ],
            now=now,
        )

    send("a", "2.5")
    usage_counters_fold()
    send("b", "1")
    send("c", "0.25")
    response = admin_client.get("/admin/metering/usagecounter/")
    assert response.status_code == 200
    (counter,) = response.context["cl"].result_list
    admin = response.context["cl"].model_admin
    assert admin.total_quantity(counter) == Decimal("3.75")
    assert admin.total_events(counter) == 3
    assert admin.pending_increments(counter) == 2


def test_an_operations_metric_is_chosen_in_the_admin_form(admin_client, organization):
    form = {
        "organization": organization.pk,
        "code": "seats",
        "name": "Seats",
        "aggregation": "unique_count",
        "aggregation_property": "",
    }
    response = admin_client.post("/admin/metering/operation/add/", form)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "aggregation_property": [
            "A unique count needs the event property whose distinct values it "
            "counts, e.g. user_id."
        ]
    }
    form["aggregation_property"] = "user_id"
    response = admin_client.post("/admin/metering/operation/add/", form)
    assert response.status_code == 302
    assert list(
        Operation.objects.values_list("code", "aggregation", "aggregation_property")
    ) == [("seats", "unique_count", "user_id")]
