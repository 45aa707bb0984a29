import pytest
from django.db import connection
from django.utils import timezone

from metering.models import ApiKey, Customer
from metering.selectors import api_key_get_active
from metering.services import api_key_create, api_key_revoke
from metering.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_request_without_credentials_is_401(client):
    response = client.get("/api/v1/customers/")
    assert response.status_code == 401
    assert response.json() == {
        "errors": {"detail": ["Authentication credentials were not provided."]}
    }


def test_valid_key_lists_only_its_organization(api_client, organization):
    mine = CustomerFactory(organization=organization, external_id="mine")
    CustomerFactory(external_id="theirs")
    response = api_client.get("/api/v1/customers/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [mine.pk]


def test_valid_key_records_last_use(api_client):
    assert api_client.api_key.last_used_at is None
    api_client.get("/api/v1/customers/")
    api_client.api_key.refresh_from_db()
    assert api_client.api_key.last_used_at is not None


def test_revoked_key_is_401(api_client):
    api_key_revoke(api_key=api_client.api_key, now=timezone.now())
    response = api_client.get("/api/v1/customers/")
    assert response.status_code == 401
    assert response.json() == {"errors": {"detail": ["Invalid or revoked API key."]}}


def test_active_key_lookup_loads_key_and_organization_in_one_prepared_statement(
    organization, django_assert_num_queries
):
    organization.auto_create_customers = True
    organization.save()
    issued = api_key_create(organization=organization, name="ingest")
    # No ORM query: one prepared statement on the connection loads both.
    with django_assert_num_queries(0):
        api_key_get_active(raw_key=issued.raw_key)
        found = api_key_get_active(raw_key=issued.raw_key)
        assert found.organization.slug == organization.slug
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE statement LIKE '%%hashed_key%%'"
        )
        assert cursor.fetchone() == (1,)
    expected = ApiKey.objects.get(pk=issued.api_key.pk)
    assert [getattr(found, f.attname) for f in ApiKey._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in ApiKey._meta.concrete_fields
    ]
    assert found.organization.auto_create_customers is True
    assert found.organization.created_at == organization.created_at
    assert api_key_get_active(raw_key=issued.raw_key + "x") is None
    api_key_revoke(api_key=found, now=timezone.now())
    assert api_key_get_active(raw_key=issued.raw_key) is None


def test_unknown_key_is_401(client):
    response = client.get(
        "/api/v1/customers/", HTTP_AUTHORIZATION="Api-Key bk_not-a-real-key"
    )
    assert response.status_code == 401


def test_malformed_header_is_401(client):
    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION="Api-Key a b")
    assert response.status_code == 401
    assert "Malformed" in response.json()["errors"]["detail"][0]


def test_key_of_other_organization_gets_404_for_every_customer_route(
    api_client_for, organization, other_organization
):
    theirs = CustomerFactory(organization=other_organization, external_id="x-1")
    client = api_client_for(organization)
    for key in (theirs.pk, theirs.external_id):
        url = f"/api/v1/customers/{key}/"
        assert client.get(url).status_code == 404
        assert client.patch(url, {"name": "Hijack"}, format="json").status_code == 404
        assert (
            client.put(
                url, {"external_id": "x-1", "name": "Hijack"}, format="json"
            ).status_code
            == 404
        )
        assert client.delete(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "Hijack"


def test_create_customer(api_client, organization):
    response = api_client.post(
        "/api/v1/customers/",
        {"external_id": "acme-1", "name": "Acme", "email": "ap@acme.test",
         "metadata": {"tier": "gold"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    customer = Customer.objects.get(organization=organization, external_id="acme-1")
    assert (customer.name, customer.email, customer.metadata) == (
        "Acme", "ap@acme.test", {"tier": "gold"},
    )  # fmt: skip
    assert response.json()["id"] == customer.pk


def test_create_customer_rejects_duplicate_external_id(api_client, organization):
    CustomerFactory(organization=organization, external_id="acme-1")
    response = api_client.post(
        "/api/v1/customers/", {"external_id": "acme-1", "name": "Again"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "external_id": ["A customer with external id 'acme-1' already exists."]
        }
    }


def test_same_external_id_is_allowed_in_another_organization(api_client):
    CustomerFactory(external_id="acme-1")
    response = api_client.post(
        "/api/v1/customers/", {"external_id": "acme-1", "name": "Acme"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "No id"}, "external_id"),
        ({"external_id": "has space", "name": "X"}, "external_id"),
        ({"external_id": "ok"}, "name"),
        ({"external_id": "ok", "name": "X", "email": "not-mail"}, "email"),
        ({"external_id": "ok", "name": "X", "metadata": [1, 2]}, "metadata"),
        ({"external_id": "x" * 129, "name": "X"}, "external_id"),
    ],
)
def test_create_customer_names_the_bad_field(api_client, payload, field):
    response = api_client.post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert Customer.objects.count() == 0


def test_retrieve_by_id_and_by_external_id(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="ext-9")
    by_pk = api_client.get(f"/api/v1/customers/{customer.pk}/").json()
    by_ext = api_client.get("/api/v1/customers/ext-9/").json()
    assert by_pk == by_ext
    assert by_pk["external_id"] == "ext-9"


def test_numeric_external_id_wins_over_a_primary_key_of_that_number(
    api_client, organization
):
    first = CustomerFactory(organization=organization, external_id="first")
    numbered = CustomerFactory(organization=organization, external_id=str(first.pk))
    response = api_client.get(f"/api/v1/customers/{first.pk}/")
    assert response.json()["id"] == numbered.pk
    # A number that is no external id is a primary key.
    assert api_client.get(f"/api/v1/customers/{numbered.pk}/").json()["id"] == (
        numbered.pk
    )
    huge = api_client.get("/api/v1/customers/99999999999999999999999/")
    assert huge.status_code == 404


def test_update_and_partial_update(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="e1", email="")
    response = api_client.patch(
        "/api/v1/customers/e1/", {"email": "new@x.test"}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email == "new@x.test"
    response = api_client.put(
        f"/api/v1/customers/{customer.pk}/",
        {"external_id": "e2", "name": "Renamed"},
        format="json",
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.external_id, customer.name) == ("e2", "Renamed")


def test_delete_customer(api_client, organization):
    customer = CustomerFactory(organization=organization)
    assert api_client.delete(f"/api/v1/customers/{customer.pk}/").status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_list_filters_and_pagination(api_client, organization):
    for number in range(5):
        CustomerFactory(
            organization=organization, name=f"Beta {number}", external_id=f"b{number}"
        )
    CustomerFactory(organization=organization, name="Alpha", external_id="a0")
    body = api_client.get("/api/v1/customers/?search=beta&limit=2&offset=2").json()
    assert body["count"] == 5
    assert [row["name"] for row in body["results"]] == ["Beta 2", "Beta 3"]
    body = api_client.get("/api/v1/customers/?external_id=a0").json()
    assert [row["name"] for row in body["results"]] == ["Alpha"]


def test_staff_session_names_the_organization(client, organization, other_organization):
    CustomerFactory(organization=organization, external_id="in-a")
    CustomerFactory(organization=other_organization, external_id="in-b")
    client.force_login(UserFactory(staff=True))
    response = client.get(f"/api/v1/customers/?organization={other_organization.slug}")
    assert response.status_code == 200
    assert [row["external_id"] for row in response.json()["results"]] == ["in-b"]
    # With two organizations and none named, the request is refused.
    assert client.get("/api/v1/customers/").status_code == 403


def test_non_staff_session_cannot_use_the_api(client, organization):
    client.force_login(UserFactory())
    response = client.get(f"/api/v1/customers/?organization={organization.slug}")
    assert response.status_code == 403


def test_routes_answer_with_and_without_trailing_slash(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="slash-1")
    assert api_client.get("/api/v1/customers").status_code == 200
    assert api_client.get("/api/v1/customers/slash-1").json()["id"] == customer.pk
