import uuid
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from metering.models import (
    Customer,
    Operation,
    Organization,
    PortalUser,
    UsageEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")
    currency = "USD"
    timezone = "UTC"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"cus_{n:05d}")
    name = factory.Faker("company")
    email = factory.Faker("company_email")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    class Params:
        staff = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PortalUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PortalUser

    user = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)


class OperationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operation
        django_get_or_create = ("organization", "code")

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"op.{n}")
    name = factory.LazyAttribute(lambda o: o.code)
    unit = "call"


class UsageEventFactory(factory.Factory):
    """A stored usage event, written through the ingestion service so that the
    idempotency key and the month counter are written with it, as in production.

    ``UsageEventFactory(customer=c, operation="image.resize", quantity=...)``.
    """

    class Meta:
        model = UsageEvent

    customer = factory.SubFactory(CustomerFactory)
    event_id = factory.Sequence(lambda n: f"evt_{n:08d}")
    operation = "image.resize"
    quantity = Decimal("1")
    # Just now: the event belongs to the current period whatever the date.
    occurred_at = factory.LazyFunction(timezone.now)
    user_id = ""
    data_volume_bytes = None
    process_id = ""
    context = ""
    properties = factory.LazyFunction(dict)

    @classmethod
    def _create(cls, model_class, customer, **fields):
        (event,) = usage_events_bulk_create(customer=customer, events=[fields])
        return event

    @classmethod
    def _build(cls, model_class, customer, **fields):
        return model_class(
            organization=customer.organization, customer=customer, **fields
        )


def usage_events_bulk_create(
    *, customer: Customer, events: list[dict], now=None
) -> list[UsageEvent]:
    """Store many events of one customer through the service; returns them in order.

    Each dict uses the model's field names; ``event_id`` is generated when missing
    and ``occurred_at`` defaults to ``now``. Fails loudly if any event is not
    accepted.
    """
    from metering.services import usage_events_ingest

    now = now or timezone.now()
    payload = []
    for fields in events:
        row = {
            "event_id": fields.get("event_id") or f"evt_{uuid.uuid4().hex}",
            "customer_id": customer.external_id,
            "operation": fields.get("operation", "image.resize"),
            "quantity": str(fields.get("quantity", "1")),
            "occurred_at": (fields.get("occurred_at") or now).isoformat(),
        }
        for name in ("user_id", "data_volume_bytes", "process_id", "context"):
            if fields.get(name) not in (None, ""):
                row[name] = fields[name]
        if fields.get("properties"):
            row["properties"] = fields["properties"]
        payload.append(row)
    result = usage_events_ingest(
        organization=customer.organization, events=payload, now=now
    )
    problems = [o for o in result.outcomes if o.status != "accepted"]
    assert not problems, problems
    stored = {
        event.event_id: event
        for event in UsageEvent.objects.filter(
            organization=customer.organization,
            event_id__in=[row["event_id"] for row in payload],
        )
    }
    return [stored[row["event_id"]] for row in payload]


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = "https://hooks.example.com/billing"
    secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes of key


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    organization = factory.SubFactory(OrganizationFactory)
    type = WebhookEvent.Type.INVOICE_FINALIZED
    payload = factory.LazyFunction(lambda: {"invoice": {"number": "INV-000001"}})
    occurred_at = factory.LazyFunction(timezone.now)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    organization = factory.SelfAttribute("endpoint.organization")
    event = factory.SubFactory(
        WebhookEventFactory, organization=factory.SelfAttribute("..organization")
    )
    url = factory.SelfAttribute("endpoint.url")
