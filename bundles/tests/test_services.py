import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing_site.errors import DomainError, InvalidTransition
from bundles import selectors, services, tasks
from bundles.models import BundleStatusChange, PersonalizedBundle
from bundles.tests.factories import (
    PersonalizedBundleFactory,
    PersonalizedBundleLineFactory,
)
from metering.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

Status = PersonalizedBundle.Status


def test_run_offers_the_image_suite_to_the_image_heavy_customer(
    organization, catalogue, image_customer, export_customer, now
):
    summary = services.personalized_bundles_create(organization=organization, now=now)

    assert (summary.customers, summary.offered, summary.not_worth_offering) == (2, 2, 0)
    image = PersonalizedBundle.objects.get(customer=image_customer)
    assert [t.name for t in image.templates.all()] == ["Image Processing Suite"]
    assert [
        (line.operation, line.included_quantity, line.unit_price, line.source)
        for line in image.lines.all()
    ] == [
        ("image.convert", Decimal("200"), Decimal("0.03"), "template"),
        ("image.crop", Decimal("500"), Decimal("0.015"), "template"),
        ("image.resize", Decimal("1000"), Decimal("0.02"), "template"),
    ]
    assert (image.list_value, image.discount, image.upsell, image.price) == (
        Decimal("33.50"),
        Decimal("6.70"),
        Decimal("1.34"),
        Decimal("28.14"),
    )
    assert image.predicted_cost == Decimal("31.25")
    assert image.expected_saving == Decimal("3.11")
    assert image.status == Status.OFFERED
    assert image.period_key == "month:2026-11"
    assert image.valid_from == now
    assert image.valid_until == dt.datetime(2026, 12, 21, 12, 0, tzinfo=dt.UTC)
    assert image.reasons["templates"][0]["tags"] == ["heavy:image.resize"]
    assert image.reasons["templates"][0]["segment"] == "Image-heavy batch users"

    export = PersonalizedBundle.objects.get(customer=export_customer)
    assert [t.name for t in export.templates.all()] == ["Data Export Package"]
    assert (export.list_value, export.discount, export.upsell, export.price) == (
        Decimal("22.50"),
        Decimal("3.38"),
        Decimal("0.96"),
        Decimal("20.08"),
    )
    assert export.expected_saving == Decimal("2.42")


def test_run_is_idempotent_within_a_period(
    organization, catalogue, image_customer, now
):
    services.personalized_bundles_create(organization=organization, now=now)

    again = services.personalized_bundles_create(
        organization=organization, now=now + dt.timedelta(days=3)
    )

    assert (again.offered, again.already_offered) == (0, 1)
    assert PersonalizedBundle.objects.filter(customer=image_customer).count() == 1


def test_next_period_replaces_the_open_offer(
    organization, catalogue, image_customer, now
):
    services.personalized_bundles_create(organization=organization, now=now)

    summary = services.personalized_bundles_create(
        organization=organization, now=now + dt.timedelta(days=12)
    )

    assert (summary.offered, summary.superseded) == (1, 1)
    assert list(
        PersonalizedBundle.objects.filter(customer=image_customer)
        .order_by("valid_from")
        .values_list("period_key", "status")
    ) == [("month:2026-11", "expired"), ("month:2026-12", "offered")]


def test_customer_who_would_pay_more_gets_no_offer(
    organization, catalogue, profile, now
):
    light = profile(
        CustomerFactory(organization=organization),
        segment="Image-heavy batch users",
        tags={"heavy:image.resize": "0.9"},
        predicted={"image.resize": 900, "image.crop": 400, "export.csv": 5},
    )

    summary = services.personalized_bundles_create(organization=organization, now=now)

    assert summary.not_worth_offering == 1
    assert not PersonalizedBundle.objects.filter(customer=light).exists()


def test_customer_price_override_is_used(organization, catalogue, export_customer, now):
    services.operation_price_set(
        organization=organization,
        operation="export.pdf",
        unit_price=Decimal("0.20"),
        customer=export_customer,
    )

    services.personalized_bundles_create(organization=organization, now=now)

    bundle = PersonalizedBundle.objects.get(customer=export_customer)
    pdf = bundle.lines.get(operation="export.pdf")
    assert pdf.unit_price == Decimal("0.20")
    # 100 x 0.10 + 50 x 0.20
    assert bundle.list_value == Decimal("20.00")


def test_run_without_profiles_offers_nothing(organization, catalogue, now):
    CustomerFactory(organization=organization)

    summary = services.personalized_bundles_create(organization=organization, now=now)

    assert (summary.customers, summary.offered) == (0, 0)


def test_task_and_command_run_the_same_code(
    organization, catalogue, image_customer, capsys
):
    result = tasks.create_personalized_bundles.delay(organization.pk).get()
    assert result["offered"] == 1

    call_command("create_bundles", organization.slug)

    assert "0 offered, 1 already offered" in capsys.readouterr().out
    assert PersonalizedBundle.objects.count() == 1


def test_accept_makes_the_offer_active_and_audits_it(organization, now):
    bundle = PersonalizedBundleFactory(
        customer=CustomerFactory(organization=organization),
        valid_from=now,
        valid_until=now + dt.timedelta(days=1),
    )

    services.bundle_accept(bundle=bundle, now=now, actor="portal:ann")

    bundle.refresh_from_db()
    assert bundle.status == Status.ACTIVE
    assert bundle.accepted_at == now
    assert list(
        BundleStatusChange.objects.filter(bundle=bundle).values_list(
            "from_status", "to_status", "actor"
        )
    ) == [("offered", "accepted", "portal:ann"), ("accepted", "active", "portal:ann")]


@pytest.mark.parametrize("status", ["accepted", "declined", "active", "expired"])
def test_accept_refuses_anything_but_an_offer(organization, now, status):
    bundle = PersonalizedBundleFactory(
        customer=CustomerFactory(organization=organization),
        valid_from=now,
        valid_until=now + dt.timedelta(days=1),
        status=status,
    )

    with pytest.raises(InvalidTransition) as error:
        services.bundle_accept(bundle=bundle, now=now, actor="system")

    assert error.value.message == (
        f"Bundle {bundle.pk} is {status}; only an offered bundle can be accepted."
    )


def test_accept_refuses_outside_validity(organization, now):
    bundle = PersonalizedBundleFactory(
        customer=CustomerFactory(organization=organization),
        valid_from=now,
        valid_until=now + dt.timedelta(days=1),
    )

    with pytest.raises(InvalidTransition) as error:
        services.bundle_accept(
            bundle=bundle, now=now + dt.timedelta(days=1), actor="system"
        )

    assert error.value.message == (
        f"Bundle {bundle.pk} is outside its validity "
        "(2026-11-21 12:00 to 2026-11-22 12:00 UTC)."
    )


def test_decline_only_from_offered(organization, now):
    bundle = PersonalizedBundleFactory(
        customer=CustomerFactory(organization=organization),
        valid_from=now,
        valid_until=now + dt.timedelta(days=1),
    )

    services.bundle_decline(bundle=bundle, now=now, actor="system")

    bundle.refresh_from_db()
    assert (bundle.status, bundle.declined_at) == (Status.DECLINED, now)
    with pytest.raises(InvalidTransition):
        services.bundle_decline(bundle=bundle, now=now, actor="system")


def test_expiry_ends_offers_and_active_bundles_past_their_validity(organization, now):
    customer = CustomerFactory(organization=organization)
    day = dt.timedelta(days=1)
    ended_offer = PersonalizedBundleFactory(
        customer=customer, valid_from=now - 2 * day, valid_until=now
    )
    ended_active = PersonalizedBundleFactory(
        customer=customer, valid_from=now - 2 * day, valid_until=now - day,
        status="active", accepted_at=now - 2 * day,
    )  # fmt: skip
    running = PersonalizedBundleFactory(
        customer=customer, valid_from=now, valid_until=now + day
    )
    declined = PersonalizedBundleFactory(
        customer=customer, valid_from=now - 2 * day, valid_until=now - day,
        status="declined",
    )  # fmt: skip

    assert services.bundles_expire(now=now) == 2

    statuses = dict(PersonalizedBundle.objects.values_list("pk", "status"))
    assert statuses == {
        ended_offer.pk: "expired",
        ended_active.pk: "expired",
        running.pk: "offered",
        declined.pk: "declined",
    }
    # Expired bundles can no longer be accepted.
    with pytest.raises(InvalidTransition):
        services.bundle_accept(bundle=ended_offer, now=now - day, actor="system")


def test_expire_task_wiring(organization):
    PersonalizedBundleFactory(
        customer=CustomerFactory(organization=organization),
        valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        valid_until=dt.datetime(2020, 1, 2, tzinfo=dt.UTC),
    )

    assert tasks.expire_bundles.delay().get() == 1


def test_coverage_and_active_bundles_follow_validity_and_acceptance(organization, now):
    customer = CustomerFactory(organization=organization)
    day = dt.timedelta(days=1)
    accepted = PersonalizedBundleFactory(
        customer=customer, valid_from=now, valid_until=now + 7 * day
    )
    PersonalizedBundleLineFactory(bundle=accepted, operation="image.resize")
    PersonalizedBundleLineFactory(
        bundle=accepted, operation="export.csv", included_quantity=None
    )
    services.bundle_accept(bundle=accepted, now=now, actor="system")
    PersonalizedBundleFactory(  # only offered: covers nothing
        customer=customer, valid_from=now, valid_until=now + 7 * day
    )

    assert list(selectors.active_bundles_for(customer=customer, at=now + day)) == [
        accepted
    ]
    assert not selectors.active_bundles_for(customer=customer, at=now + 7 * day)
    coverage = selectors.bundle_coverage(
        customer=customer, start=now - 30 * day, end=now
    )
    assert coverage == []
    services.bundles_expire(now=now + 8 * day)
    (covered,) = selectors.bundle_coverage(
        customer=customer, start=now, end=now + 30 * day
    )
    assert covered.bundle_id == accepted.pk
    assert covered.price == Decimal("25.20")
    assert covered.included == {"export.csv": None, "image.resize": Decimal("1000")}
    assert covered.reference == f"bundle:{accepted.pk}"


def test_upgrade_offer_covers_the_operation_used_outside_bundles(
    organization, catalogue, now
):
    customer = CustomerFactory(organization=organization)

    bundle = services.bundle_upgrade_offer(
        customer=customer,
        operation="export.pdf",
        now=now,
        observed_quantity=Decimal("60"),
    )

    # The export template would cost more than 60 PDFs: an algorithmic bundle of
    # 60 x 1.1 = 66 PDFs at 0.25, 20% off, plus 5%.
    assert bundle.source == PersonalizedBundle.Source.UPGRADE
    assert list(bundle.templates.all()) == []
    assert list(bundle.lines.values_list("operation", "included_quantity")) == [
        ("export.pdf", Decimal("66"))
    ]
    assert (bundle.list_value, bundle.discount, bundle.upsell) == (
        Decimal("16.50"),
        Decimal("3.30"),
        Decimal("0.66"),
    )
    assert (bundle.price, bundle.predicted_cost) == (Decimal("13.86"), Decimal("15.00"))
    assert bundle.expected_saving == Decimal("1.14")
    again = services.bundle_upgrade_offer(
        customer=customer,
        operation="export.pdf",
        now=now,
        observed_quantity=Decimal("60"),
    )
    assert again.pk == bundle.pk


def test_upgrade_offer_uses_a_covering_template(organization, catalogue, profile, now):
    customer = profile(
        CustomerFactory(organization=organization),
        predicted={"image.resize": 1000, "image.convert": 200},
    )

    bundle = services.bundle_upgrade_offer(
        customer=customer,
        operation="image.crop",
        now=now,
        observed_quantity=Decimal("3000"),
    )

    assert [t.name for t in bundle.templates.all()] == ["Image Processing Suite"]
    assert bundle.lines.get(operation="image.crop").included_quantity == 500
    # 1000 x 0.02 + 500 x 0.015 + 200 x 0.03 = 33.50, 20% off, plus 5%.
    assert (bundle.price, bundle.expected_saving) == (
        Decimal("28.14"),
        Decimal("5.36"),
    )


def test_upgrade_offer_none_when_it_would_cost_more(organization, catalogue, now):
    customer = CustomerFactory(organization=organization)

    assert (
        services.bundle_upgrade_offer(
            customer=customer,
            operation="export.pdf",
            now=now,
            observed_quantity=Decimal("0"),
        )
        is None
    )


def test_template_with_duplicate_operations_is_refused(organization):
    with pytest.raises(DomainError) as error:
        services.bundle_template_save(
            organization=organization,
            name="Twice",
            operations=[
                services.TemplateOperationInput("a", Decimal("1")),
                services.TemplateOperationInput("a", Decimal("2")),
            ],
        )

    assert (error.value.field, error.value.message) == (
        "operations",
        "Each operation may appear once.",
    )


def test_validity_windows_and_period_keys():
    now = dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC)

    def window(validity, **extra):
        return selectors.validity_window(
            validity=validity, now=now, timezone="Europe/Paris", session_minutes=60,
            **extra,
        )  # fmt: skip

    assert window("day").period_key == "day:2026-11-22"  # already Sunday in Paris
    assert window("week").period_key == "week:2026-W47"
    assert window("month").valid_until == dt.datetime(
        2026, 12, 21, 23, 30, tzinfo=dt.UTC
    )
    assert window("session").period_key == "session:2026-11-22:60m:0"
    assert window("session").seconds == 3600
    custom = window("custom", custom_duration=dt.timedelta(hours=6))
    assert custom.seconds == 6 * 3600
    assert custom.period_key.startswith("custom:21600s:")


def test_fan_out_task_runs_each_organization(organization, catalogue, image_customer):
    assert tasks.create_personalized_bundles_all.delay().get() == [organization.pk]
    assert PersonalizedBundle.objects.filter(customer=image_customer).count() == 1


def _daily_events(customer, *, operation, per_day, first_day, now):
    """``per_day`` uses of ``operation`` on every day from ``first_day`` days before
    ``now`` to yesterday, an hour apart from 08:00."""
    start = (now - dt.timedelta(days=first_day)).replace(hour=8, minute=0)
    return [
        {
            "event_id": f"{customer.external_id}-{day}-{n}",
            "customer_id": customer.external_id,
            "operation": operation,
            "occurred_at": (start + dt.timedelta(days=day, hours=n)).isoformat(),
        }
        for day in range(first_day)
        for n in range(per_day)
    ]


def test_customers_fifteen_days_old_are_offered_the_bundle_their_week_exceeds(
    organization, now
):
    from metering.services import usage_events_ingest
    from profiling.services import profiling_run_execute

    services.operation_price_set(
        organization=organization, operation="doc.parse", unit_price=Decimal("0.10")
    )
    services.bundle_template_save(
        organization=organization,
        name="Document starter week",
        discount_percent=Decimal("20"),
        validity="week",
        operations=[services.TemplateOperationInput("doc.parse", Decimal("50"))],
    )
    # Seen for 15 of the run's 90 days: 9 parses a day (63 a week) or 3 (21).
    heavy = CustomerFactory.create_batch(3, organization=organization)
    light = CustomerFactory.create_batch(3, organization=organization)
    events = []
    for customer in heavy:
        events += _daily_events(
            customer, operation="doc.parse", per_day=9, first_day=15, now=now
        )
    for customer in light:
        events += _daily_events(
            customer, operation="doc.parse", per_day=3, first_day=15, now=now
        )
    assert usage_events_ingest(
        organization=organization, events=events, now=now
    ).accepted == len(events)
    run = profiling_run_execute(organization=organization, now=now, window_days=90)
    assert (run.window_end - run.window_start).days == 90

    summary = services.personalized_bundles_create(organization=organization, now=now)

    assert (summary.customers, summary.offered, summary.not_worth_offering) == (6, 3, 3)
    offered = PersonalizedBundle.objects.filter(organization=organization)
    assert {bundle.customer_id for bundle in offered} == {c.pk for c in heavy}
    bundle = offered.get(customer=heavy[0])
    assert [
        (line.operation, line.included_quantity, line.unit_price)
        for line in bundle.lines.all()
    ] == [("doc.parse", Decimal("50"), Decimal("0.10"))]
    assert (bundle.list_value, bundle.discount) == (Decimal("5.00"), Decimal("1.00"))
    assert bundle.period_key.startswith("week:")
