"""Webhook endpoints and deliveries in the admin: scoped to the staff member's
organizations; deliveries show every attempt and can be resent."""

import base64

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from metering.models import OrganizationMembership, WebhookDelivery, WebhookEndpoint
from metering.services import webhook_delivery_attempt
from metering.tests.factories import (
    OrganizationFactory,
    UserFactory,
    WebhookDeliveryFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.clock("2026-11-18T09:30:00+00:00")]

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def staff(organization, *codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="metering", codename__in=codenames
        )
    )
    OrganizationMembership.objects.create(user=user, organization=organization)
    return user


@pytest.fixture
def failed(receiver, clock_start):
    endpoint = receiver(codes=[410])
    delivery = WebhookDeliveryFactory(
        endpoint__url=endpoint.url, url=endpoint.url, endpoint__secret=SECRET
    )
    webhook_delivery_attempt(delivery_id=delivery.pk, now=clock_start)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    return delivery


def test_delivery_page_lists_its_attempts_and_offers_a_resend(client, failed):
    client.force_login(
        staff(failed.organization, "view_webhookdelivery", "change_webhookdelivery")
    )

    response = client.get(
        reverse("admin:metering_webhookdelivery_change", args=[failed.pk])
    )

    content = response.content.decode()
    resend = reverse("admin:metering_webhookdelivery_resend", args=[failed.pk])
    assert f'action="{resend}"' in content
    assert "Gone" in content  # the attempt's error
    assert "410" in content


def test_resend_goes_through_a_confirmation(
    client, failed, django_capture_on_commit_callbacks
):
    client.force_login(
        staff(failed.organization, "view_webhookdelivery", "change_webhookdelivery")
    )
    url = reverse("admin:metering_webhookdelivery_resend", args=[failed.pk])

    confirmation = client.post(url, {"resend": ""})
    failed.refresh_from_db()
    assert failed.status == "failed"
    assert confirmation.status_code == 200
    assert "Resending posts the same event again" in confirmation.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "Resend"})

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("delivered", 1)
    codes = failed.attempt_rows.values_list("status_code", flat=True)
    assert list(codes) == [410, 200]


def test_resend_action_reports_each_delivery(client, failed):
    pending = WebhookDeliveryFactory(organization=failed.organization)
    client.force_login(
        staff(failed.organization, "view_webhookdelivery", "change_webhookdelivery")
    )

    response = client.post(
        reverse("admin:metering_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [failed.pk, pending.pk]},
        follow=True,
    )

    messages = [str(message) for message in response.context["messages"]]
    name = f"invoice.finalized to {failed.url}"
    assert sorted(messages) == sorted(
        [
            f"Resending {name}.",
            f"invoice.finalized to {pending.url} was not resent: webhook delivery "
            f"{pending.pk} is pending, it is being sent",
        ]
    )
    failed.refresh_from_db()
    assert failed.status == "pending"


def test_resend_needs_the_change_permission(client, failed):
    client.force_login(staff(failed.organization, "view_webhookdelivery"))

    page = client.get(
        reverse("admin:metering_webhookdelivery_change", args=[failed.pk])
    )
    response = client.post(
        reverse("admin:metering_webhookdelivery_resend", args=[failed.pk]),
        {"confirm": "Resend"},
    )

    assert "metering_webhookdelivery_resend" not in page.content.decode()
    assert "/resend/" not in page.content.decode()
    assert response.status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_another_organizations_deliveries_are_not_found(client, failed):
    user = staff(
        OrganizationFactory(), "view_webhookdelivery", "change_webhookdelivery"
    )
    client.force_login(user)

    listing = client.get(reverse("admin:metering_webhookdelivery_changelist"))
    resend = client.post(
        reverse("admin:metering_webhookdelivery_resend", args=[failed.pk]),
        {"confirm": "Resend"},
    )

    assert list(listing.context["cl"].result_list) == []
    assert resend.status_code == 404
    assert WebhookDelivery.objects.get(pk=failed.pk).status == "failed"


def test_new_endpoint_gets_a_generated_secret(client):
    organization = OrganizationFactory()
    client.force_login(
        staff(organization, "add_webhookendpoint", "view_webhookendpoint")
    )

    response = client.post(
        reverse("admin:metering_webhookendpoint_add"),
        {
            "organization": organization.pk,
            "url": "https://hooks.example.com/alerts",
            "event_types": ["alert.triggered"],
            "active": "on",
        },
    )

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["alert.triggered"]
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret[6:])) == 32
