from decimal import Decimal

import pytest

from pricing.models import BillingModel, PriceTier
from pricing.tests.conftest import GPT_TOKENS_FLAT, SEED_TOKENS
from pricing.tests.factories import ActivityBasedConfigFactory, BillingModelFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/billing-models/"
AT_LEAST_ZERO = "Ensure this value is greater than or equal to 0."


def cost(client, model_id, body, slash=True):
    url = f"{URL}{model_id}/calculate-cost" + ("/" if slash else "")
    return client.post(url, body, format="json")


def test_create_from_the_seed_flattened_shape(api_client, organization):
    response = api_client.post(
        URL, {**GPT_TOKENS_FLAT, "organization_id": organization.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    model = BillingModel.objects.get(pk=body["id"])
    config = model.activity_configs.get()
    assert (config.activity_type, config.price_per_unit, config.base_agent_fee) == (
        "gpt_tokens", Decimal("0.002"), Decimal("15.00"),
    )  # fmt: skip
    assert [
        (t.position, t.up_to, t.unit_price) for t in config.tiers.order_by("position")
    ] == [
        (1, Decimal("5000"), Decimal("0.0015")),
        (2, Decimal("20000"), Decimal("0.0010")),
    ]
    assert body["activity_volume_tier_1_threshold"] == "5000"
    assert body["activity_volume_tier_2_price"] == "0.001"
    assert body["activity_volume_tier_3_threshold"] is None
    assert body["activity"]["tiers"] == [
        {"position": 1, "up_to": "5000", "unit_price": "0.0015", "flat_fee": "0.00"},
        {"position": 2, "up_to": "20000", "unit_price": "0.001", "flat_fee": "0.00"},
    ]
    assert body["activity"]["tier_summary"] == (
        "0-5k @0.0015 | 5k-20k @0.001 | 20k+ @0.002"
    )
    assert body["activity_minimum_charge"] == "10.00"
    assert body["currency"] == "USD"


def test_seed_calculate_cost_example_is_47_50(api_client):
    created = api_client.post(URL, GPT_TOKENS_FLAT, format="json").json()
    for slash in (True, False):
        response = cost(api_client, created["id"], {"units": 15000, "agents": 2}, slash)
        assert response.status_code == 200, response.json()
        assert response.json()["cost"] == "47.50"
        assert response.json()["breakdown"] == {
            "base_agent_fee": "30.00",
            "tier_1_cost": "7.50",
            "tier_2_cost": "10.00",
            "total": "47.50",
        }
        assert response.json()["minimum_charge_applied"] is False


@pytest.mark.parametrize(
    ("units", "agents", "total"),
    [(25000, 2, "37.00"), (1000, 1, "10.80"), (75000, 3, "72.00"),
     (150000, 2, "122.00"), (100, 1, "10.08")],
)  # fmt: skip
def test_seed_token_model_figures_through_the_api(api_client, units, agents, total):
    created = api_client.post(URL, SEED_TOKENS, format="json")
    assert created.status_code == 201, created.json()
    response = cost(
        api_client, created.json()["id"], {"units": units, "agents": agents}
    )
    assert response.json()["cost"] == total
    breakdown = response.json()["breakdown"]
    assert breakdown["total"] == total
    assert sum(Decimal(v) for k, v in breakdown.items() if k != "total") == Decimal(
        total
    )


def test_overflow_line_above_the_last_threshold(api_client):
    created = api_client.post(URL, SEED_TOKENS, format="json").json()
    response = cost(api_client, created["id"], {"units": "150000", "agents": 2})
    assert response.json()["breakdown"] == {
        "base_agent_fee": "20.00",
        "tier_1_cost": "8.00",
        "tier_2_cost": "24.00",
        "tier_3_cost": "20.00",
        "overflow_cost": "50.00",
        "total": "122.00",
    }
    assert response.json()["lines"][-1] == {
        "key": "overflow_cost",
        "amount": "50.00",
        "units": "50000",
        "unit_price": "0.001",
        "flat_fee": "0",
    }


def test_seed_100_api_calls_through_the_api(api_client):
    created = api_client.post(
        URL,
        {"name": "Simple", "model_type": "activity", "activity_price_per_unit": 0.10,
         "activity_activity_type": "api_calls", "activity_unit_type": "action",
         "activity_base_agent_fee": 0.0, "activity_volume_pricing_enabled": False},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    response = cost(api_client, created.json()["id"], {"units": 100})
    assert response.json()["cost"] == "10.00"
    assert response.json()["breakdown"] == {
        "base_agent_fee": "0.00",
        "usage_cost": "10.00",
        "total": "10.00",
    }


def test_minimum_charge_applied_is_reported(api_client):
    created = api_client.post(URL, SEED_TOKENS, format="json").json()
    body = cost(api_client, created["id"], {"units": 100, "agents": 0}).json()
    assert body["minimum_charge_applied"] is True
    assert body["breakdown"] == {
        "base_agent_fee": "0.00",
        "tier_1_cost": "0.08",
        "minimum_charge_adjustment": "4.92",
        "total": "5.00",
    }


def test_decimal_units_as_string_and_number(api_client):
    created = api_client.post(
        URL,
        {"name": "Minutes", "activity": {"price_per_unit": "0.015",
                                         "activity_type": "call_minutes",
                                         "unit_type": "minute"}},
        format="json",
    ).json()  # fmt: skip
    assert cost(api_client, created["id"], {"units": "12.5"}).json()["cost"] == "0.19"
    response = api_client.post(
        f"{URL}{created['id']}/calculate-cost/",
        data='{"units": 12.5}',
        content_type="application/json",
    )
    assert response.json()["cost"] == "0.19"


def test_nested_shape_round_trips_tiers_with_flat_fees_and_volume_mode(api_client):
    payload = {
        "name": "Volume",
        "model_type": "activity",
        "activity": {
            "price_per_unit": "0.0004",
            "activity_type": "api_calls",
            "tier_mode": "volume",
            "tiers": [
                {"up_to": 10000, "unit_price": "0.0010", "flat_fee": "10"},
                {"up_to": 50000, "unit_price": "0.0008", "flat_fee": "10"},
                {"up_to": 100000, "unit_price": "0.0006", "flat_fee": "10"},
                {"up_to": None, "unit_price": "0.0004", "flat_fee": "10"},
            ],
        },
    }
    created = api_client.post(URL, payload, format="json")
    assert created.status_code == 201, created.json()
    activity = created.json()["activity"]
    assert activity["volume_pricing_enabled"] is True
    assert activity["tier_mode"] == "volume"
    assert [t["up_to"] for t in activity["tiers"]] == ["10000", "50000", "100000", None]
    assert activity["tier_summary"] == (
        "volume: 0-10k @0.001 + 10 | 10k-50k @0.0008 + 10 | "
        "50k-100k @0.0006 + 10 | 100k+ @0.0004 + 10"
    )
    body = cost(api_client, created.json()["id"], {"units": 65000}).json()
    assert body["breakdown"] == {
        "base_agent_fee": "0.00",
        "tier_3_cost": "49.00",
        "total": "49.00",
    }


def test_legacy_field_names_are_accepted(api_client):
    flat = api_client.post(
        URL,
        {"name": "Legacy flat", "activity_price_per_action": "0.25",
         "activity_action_type": "queries"},
        format="json",
    )  # fmt: skip
    assert flat.status_code == 201, flat.json()
    assert flat.json()["activity_price_per_unit"] == "0.25"
    assert flat.json()["activity_activity_type"] == "queries"
    nested = api_client.post(
        URL,
        {"name": "Legacy nested",
         "activity": {"price_per_action": 0.5, "action_type": "documents"}},
        format="json",
    )  # fmt: skip
    assert nested.status_code == 201, nested.json()
    assert nested.json()["activity"]["price_per_unit"] == "0.5"
    assert nested.json()["activity"]["activity_type"] == "documents"


def test_legacy_and_new_name_together_is_an_error(api_client):
    response = api_client.post(
        URL,
        {"name": "Both", "activity_price_per_action": "0.25",
         "activity_price_per_unit": "0.3", "activity_activity_type": "q"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "activity_price_per_action": [
                "Give either price_per_action or price_per_unit, not both."
            ]
        }
    }


def test_thresholds_must_increase_flat_errors_use_flat_names(api_client):
    response = api_client.post(
        URL,
        {**GPT_TOKENS_FLAT, "activity_volume_tier_2_threshold": 5000},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "activity_volume_tier_2_threshold": [
                "Must be greater than the previous tier's threshold (5000)."
            ]
        }
    }


def test_negative_prices_are_refused_per_field(api_client):
    response = api_client.post(
        URL,
        {**GPT_TOKENS_FLAT, "activity_volume_tier_1_price": "-0.1",
         "activity_base_agent_fee": -1},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "activity_base_agent_fee": ["Must not be negative."],
            "activity_volume_tier_1_price": ["Must not be negative."],
        }
    }


def test_nested_errors_use_dotted_paths(api_client):
    payload = {
        "name": "Bad tiers",
        "activity": {
            "price_per_unit": "0.1",
            "activity_type": "tokens",
            "tiers": [
                {"up_to": None, "unit_price": "0.2"},
                {"up_to": 0, "unit_price": "0.1"},
            ],
        },
    }
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "activity.tiers.0.up_to": ["Only the last tier may be open-ended."],
            "activity.tiers.1.up_to": ["Must be a positive number of units."],
        }
    }


def test_tiers_need_volume_pricing(api_client):
    response = api_client.post(
        URL,
        {**GPT_TOKENS_FLAT, "activity_volume_pricing_enabled": False},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "activity_tiers": ["Tiers apply only when volume pricing is enabled."]
        }
    }


def test_threshold_without_price_is_an_error(api_client):
    payload = {**GPT_TOKENS_FLAT}
    del payload["activity_volume_tier_2_price"]
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"activity_volume_tier_2_price": ["This field may not be null."]}
    }


def test_type_errors_are_400_naming_the_field(api_client):
    response = api_client.post(
        URL,
        {"name": "", "activity": {"price_per_unit": "abc", "activity_type": "x"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "name": ["This field may not be blank."],
            "activity.price_per_unit": ["A valid number is required."],
        }
    }


def test_activity_model_needs_one_activity(api_client):
    response = api_client.post(URL, {"name": "Empty"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "activity": ["An activity-based model needs exactly one activity pricing."]
        }
    }


def test_duplicate_name_is_refused(api_client):
    api_client.post(URL, GPT_TOKENS_FLAT, format="json")
    response = api_client.post(URL, GPT_TOKENS_FLAT, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "name": ["A billing model named 'Token-Based AI Services' already exists."]
        }
    }


def test_organization_id_of_another_organization_is_refused(
    api_client, other_organization
):
    response = api_client.post(
        URL, {**GPT_TOKENS_FLAT, "organization_id": other_organization.pk},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "organization_id": ["Does not match the organization of the API key."]
        }
    }


def test_patch_a_flattened_tier_updates_the_tier_row(api_client):
    created = api_client.post(URL, SEED_TOKENS, format="json").json()
    response = api_client.patch(
        f"{URL}{created['id']}/",
        {"activity_volume_tier_2_price": "0.0005"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["activity"]["tiers"][1]["unit_price"] == "0.0005"
    assert response.json()["activity_volume_tier_2_threshold"] == "50000"
    assert response.json()["activity_volume_tier_3_price"] == "0.0004"
    tier = PriceTier.objects.get(config__billing_model_id=created["id"], position=2)
    assert tier.unit_price == Decimal("0.0005")


def test_patch_nested_tiers_shows_in_the_flattened_fields(api_client):
    created = api_client.post(URL, SEED_TOKENS, format="json").json()
    response = api_client.patch(
        f"{URL}{created['id']}",
        {"activity": {"tiers": [{"up_to": "2000", "unit_price": "0.0009"}]}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["activity_volume_tier_1_threshold"] == "2000"
    assert body["activity_volume_tier_1_price"] == "0.0009"
    assert body["activity_volume_tier_2_threshold"] is None
    assert body["activity"]["base_agent_fee"] == "10.00"


def test_patch_flattened_tier_removal(api_client):
    created = api_client.post(URL, SEED_TOKENS, format="json").json()
    response = api_client.patch(
        f"{URL}{created['id']}/",
        {
            "activity_volume_tier_3_threshold": None,
            "activity_volume_tier_3_price": None,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert len(response.json()["activity"]["tiers"]) == 2


def test_put_replaces_the_model(api_client):
    created = api_client.post(URL, SEED_TOKENS, format="json").json()
    response = api_client.put(
        f"{URL}{created['id']}/",
        {"name": "Renamed", "activity_price_per_unit": "0.2",
         "activity_activity_type": "api_calls"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed"
    assert response.json()["activity"]["tiers"] == []
    assert response.json()["activity"]["volume_pricing_enabled"] is False


def test_delete(api_client):
    created = api_client.post(URL, SEED_TOKENS, format="json").json()
    assert api_client.delete(f"{URL}{created['id']}/").status_code == 204
    assert not BillingModel.objects.filter(pk=created["id"]).exists()


def test_other_organization_gets_404_on_every_route(
    api_client_for, organization, other_organization
):
    theirs = ActivityBasedConfigFactory(
        billing_model=BillingModelFactory(organization=other_organization)
    ).billing_model
    client = api_client_for(organization)
    url = f"{URL}{theirs.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "x"}, format="json").status_code == 404
    assert client.put(url, SEED_TOKENS, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert cost(client, theirs.pk, {"units": 1}).status_code == 404
    assert client.get(URL).json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.name != "x"


def test_list_filters(api_client, organization):
    api_client.post(URL, SEED_TOKENS, format="json")
    api_client.post(URL, {**GPT_TOKENS_FLAT, "is_active": False}, format="json")
    api_client.post(
        URL,
        {"name": "Hybrid", "model_type": "hybrid", "subscription_fee": "99",
         "activities": [{"price_per_unit": "0.1", "activity_type": "api_calls"},
                        {"price_per_unit": "0.002", "activity_type": "tokens"}]},
        format="json",
    )  # fmt: skip

    def names(query):
        return sorted(r["name"] for r in api_client.get(URL + query).json()["results"])

    assert names("") == ["Advanced Token Billing", "Hybrid", "Token-Based AI Services"]
    assert names("?model_type=hybrid") == ["Hybrid"]
    assert names("?activity_type=tokens") == ["Advanced Token Billing", "Hybrid"]
    assert names("?is_active=false") == ["Token-Based AI Services"]
    assert api_client.get(URL + "?model_type=bogus").status_code == 400


def test_hybrid_cost_with_units_per_activity(api_client):
    created = api_client.post(
        URL,
        {"name": "Hybrid", "model_type": "hybrid", "subscription_fee": "99",
         "activities": [{"price_per_unit": "0.1", "activity_type": "api_calls"},
                        {"price_per_unit": "0.002", "activity_type": "gpt_tokens",
                         "base_agent_fee": "15",
                         "tiers": [{"up_to": 5000, "unit_price": "0.0015"},
                                   {"up_to": 20000, "unit_price": "0.0010"}]}]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert created.json()["activity"] is None
    assert len(created.json()["activities"]) == 2
    body = cost(
        api_client, created.json()["id"],
        {"units": {"gpt_tokens": 15000, "api_calls": 100}, "agents": 2},
    ).json()  # fmt: skip
    assert body["breakdown"] == {
        "subscription_fee": "99.00",
        "api_calls.base_agent_fee": "0.00",
        "api_calls.usage_cost": "10.00",
        "gpt_tokens.base_agent_fee": "30.00",
        "gpt_tokens.tier_1_cost": "7.50",
        "gpt_tokens.tier_2_cost": "10.00",
        "total": "156.50",
    }
    single = cost(api_client, created.json()["id"], {"units": 5})
    assert single.status_code == 400
    assert single.json() == {
        "errors": {
            "units": ["This model prices several activity types; give units per type."]
        }
    }


def test_hybrid_duplicate_activity_type_is_refused(api_client):
    response = api_client.post(
        URL,
        {"name": "Hybrid", "model_type": "hybrid",
         "activities": [{"price_per_unit": "0.1", "activity_type": "api_calls"},
                        {"price_per_unit": "0.2", "activity_type": "api_calls"}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "activities.1.activity_type": ["Activity type 'api_calls' is priced twice."]
        }
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"units": -1}, {"units": [AT_LEAST_ZERO]}),
        ({"units": "x"}, {"units": ["A valid number is required."]}),
        ({"units": None}, {"units": ["This field may not be null."]}),
        ({}, {"units": ["This field is required."]}),
        ({"units": 1, "agents": -2},
         {"agents": [AT_LEAST_ZERO]}),
        ({"units": {"tokens": "abc"}},
         {"units.tokens": ["A valid number is required."]}),
        ({"units": {"nope": 5}},
         {"units": ["No active pricing for activity type 'nope'."]}),
    ],
)  # fmt: skip
def test_calculate_cost_bad_input_is_400(api_client, seed_token_model, body, errors):
    response = cost(api_client, seed_token_model.pk, body)
    assert response.status_code == 400
    assert response.json() == {"errors": errors}


def test_non_object_body_is_400(api_client):
    response = api_client.post(URL, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"non_field_errors": ["Expected a JSON object."]}
    }


def test_form_encoded_flattened_shape_is_accepted(api_client):
    response = api_client.post(
        URL,
        {"name": "Form", "activity_price_per_unit": "0.10",
         "activity_activity_type": "api_calls"},
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["activity_price_per_unit"] == "0.1"
