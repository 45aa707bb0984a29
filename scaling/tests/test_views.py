import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from metering.tests.factories import CustomerFactory, PortalUserFactory, UserFactory
from scaling import charts, selectors
from scaling.models import Entitlement, Forecast, Recommendation, ResourceMetric
from scaling.services import provisioning
from scaling.services.recommendations import recommendation_generate
from scaling.tasks import forecast_organization_task
from scaling.tests.factories import ForecastFactory, daily_points

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)


def test_forecast_chart_has_bands_forecast_and_actuals():
    forecast = ForecastFactory.build()
    actuals = [(NOW, 120.0)]
    figure = charts.forecast_with_interval_figure(
        resource="compute_hours",
        step="day",
        actuals=actuals,
        points=selectors.forecast_points_by_step(forecast=forecast, step="day"),
        capacity=[selectors.CapacityChange(NOW - dt.timedelta(days=3), 100.0)],
    )
    names = [trace.name for trace in figure.data]
    assert names == ["95% interval", "80% interval", "forecast", "actual", "capacity"]
    assert list(figure.data[0].y) == [160, 160, 140, 140]
    assert list(figure.data[2].y) == [150, 150]
    assert list(figure.data[4].x) == [NOW, dt.datetime(2026, 1, 2, tzinfo=dt.UTC)]
    assert list(figure.data[4].y) == [100.0, 100.0]
    assert figure.layout.title.text == "compute_hours: forecast"
    assert figure.layout.yaxis.title.text == "compute hours per day"


def test_utilisation_chart_draws_capacity():
    later = NOW + dt.timedelta(days=1)
    figure = charts.utilisation_figure(
        resource="storage_gb",
        step="day",
        actuals=[(NOW, 1.0), (later, 2.0)],
        capacity=[selectors.CapacityChange(NOW, 5.0)],
    )
    assert [list(trace.y) for trace in figure.data] == [[1.0, 2.0], [5.0, 5.0]]
    assert figure.layout.yaxis.title.text == "GB"


@pytest.fixture
def scaled_customer(organization, bundles):
    customer = CustomerFactory(organization=organization, name="Mine Ltd")
    ResourceMetric.objects.create(
        organization=organization,
        customer=customer,
        resource="compute_hours",
        timestamp=NOW,
        value=120.0,
    )
    provisioning.entitlement_record(
        customer=customer, bundle=bundles["Startup Launch"], now=NOW
    )
    ForecastFactory(customer=customer)
    recommendation_generate(customer=customer, now=NOW)
    return customer


def test_portal_dashboard_shows_own_account_and_decides(client, scaled_customer):
    portal = PortalUserFactory(customer=scaled_customer)
    client.force_login(portal.user)
    response = client.get("/portal/scaling/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Growth Accelerator" in content and "USD 119.00" in content
    assert "plotly/plotly.min.js" in content
    recommendation = response.context["recommendations"][0]
    reply = client.post(f"/portal/scaling/recommendations/{recommendation.pk}/reject/")
    assert reply.status_code == 302
    recommendation.refresh_from_db()
    assert recommendation.status == "rejected"


@pytest.mark.clock("2026-11-10T00:00:00+00:00")
def test_portal_approval_is_confirmed_with_prices_and_reason(client, scaled_customer):
    portal = PortalUserFactory(customer=scaled_customer)
    client.force_login(portal.user)
    recommendation = scaled_customer.scaling_recommendations.get()

    dashboard = client.get("/portal/scaling/").content.decode()
    response = client.get(
        f"/portal/scaling/recommendations/{recommendation.pk}/approve/confirm/"
    )

    assert (
        f'href="/portal/scaling/recommendations/{recommendation.pk}/approve/confirm/"'
        in (dashboard)
    )
    assert response.status_code == 200
    quote = response.context["quote"]
    # Startup Launch 59.00 -> Growth Accelerator 119.00 on the 10th of a 30-day
    # month: (119 - 59) x 21/30.
    assert (quote.current_price, quote.new_price, quote.invoice_change) == (
        Decimal("59.00"),
        Decimal("119.00"),
        Decimal("42.00"),
    )
    content = response.content.decode()
    assert '<dd id="current-price">USD 59.00</dd>' in content
    assert '<dd id="new-price">USD 119.00</dd>' in content
    assert '<dd id="invoice-change">+USD 42.00</dd>' in content
    assert response.context["reason"] == (
        "Your use of compute hours is forecast to exceed your plan's 100 on 1 Jan 2026."
    )
    assert '<input type="hidden" name="new_price" value="119.00">' in content
    recommendation.refresh_from_db()
    assert recommendation.status == "pending"


def test_portal_approval_without_the_confirmed_price_goes_to_the_confirmation(
    client, scaled_customer, django_capture_on_commit_callbacks
):
    portal = PortalUserFactory(customer=scaled_customer)
    client.force_login(portal.user)
    recommendation = scaled_customer.scaling_recommendations.get()
    url = f"/portal/scaling/recommendations/{recommendation.pk}/approve/"

    bare = client.post(url)
    stale = client.post(url, {"new_price": "59.00"}, follow=True)

    assert bare.status_code == 302 and bare.url == f"{url}confirm/"
    assert [str(m) for m in stale.context["messages"]] == [
        "The price has changed since. Please review it again."
    ]
    recommendation.refresh_from_db()
    assert recommendation.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"new_price": "119.00"})

    recommendation.refresh_from_db()
    assert recommendation.status == "applied"
    entitlement = Entitlement.objects.get(customer=scaled_customer)
    assert entitlement.bundle.name == "Growth Accelerator"


def test_portal_confirmation_of_a_decided_recommendation_returns(
    client, scaled_customer
):
    portal = PortalUserFactory(customer=scaled_customer)
    client.force_login(portal.user)
    recommendation = scaled_customer.scaling_recommendations.get()
    client.post(f"/portal/scaling/recommendations/{recommendation.pk}/reject/")

    response = client.get(
        f"/portal/scaling/recommendations/{recommendation.pk}/approve/confirm/",
        follow=True,
    )

    assert response.redirect_chain == [("/portal/scaling/", 302)]
    assert [str(m) for m in response.context["messages"]][-1] == (
        "This recommendation is rejected; only a pending one can be approved."
    )


def test_portal_shows_plain_reason_and_accuracy_not_metric_names(
    client, scaled_customer
):
    portal = PortalUserFactory(customer=scaled_customer)
    client.force_login(portal.user)

    content = client.get("/portal/scaling/").content.decode()

    assert (
        "Our forecasts for this account have been within about 10 % of actual "
        "usage." in content
    )
    assert "MASE" not in content and "sMAPE" not in content
    assert "upper 95" not in content
    assert 'id="accuracy"' not in content


def test_portal_cannot_decide_for_another_account(client, scaled_customer):
    stranger = PortalUserFactory(
        customer=CustomerFactory(organization=scaled_customer.organization)
    )
    client.force_login(stranger.user)
    pk = scaled_customer.scaling_recommendations.get().pk
    assert (
        client.post(f"/portal/scaling/recommendations/{pk}/approve/").status_code == 404
    )
    assert (
        client.get(f"/portal/scaling/recommendations/{pk}/approve/confirm/").status_code
        == 404
    )
    assert client.get("/portal/scaling/").context["recommendations"].count() == 0


def test_staff_dashboard_picks_an_account(client, scaled_customer):
    client.force_login(UserFactory(staff=True))
    response = client.get(
        f"/staff/scaling/?organization={scaled_customer.organization.slug}"
        f"&account={scaled_customer.pk}"
    )
    assert response.status_code == 200
    assert response.context["customer"] == scaled_customer
    assert [row.resource for row in response.context["accuracy"]] == ["compute_hours"]
    row = response.context["accuracy"][0]
    assert (
        row.mase, row.baseline_mase, row.smape, row.coverage_80, row.coverage_95
    ) == (
        Decimal("0.500"), Decimal("1.000"), Decimal("10.00"), Decimal("0.80"),
        Decimal("0.95"),
    )  # fmt: skip
    assert (
        '<td class="num">0.5</td><td class="num">1</td>\n'
        '            <td class="num">10</td>\n'
        '            <td class="num">0.8</td><td class="num">0.95</td>'
    ) in response.content.decode()
    assert client.get("/staff/scaling/?account=999999").status_code == 404


def test_staff_dashboard_needs_staff(client):
    client.force_login(UserFactory())
    assert client.get("/staff/scaling/").status_code == 302


def test_forecast_task_fans_out_chunks(organization):
    customer = CustomerFactory(organization=organization)
    ResourceMetric.objects.bulk_create(
        ResourceMetric(
            organization=organization,
            customer=customer,
            resource="bandwidth_gb",
            timestamp=NOW - dt.timedelta(days=i),
            value=float(i % 7 + 1),
        )
        for i in range(30)
    )
    assert forecast_organization_task.delay(organization.pk, 5).get() == 1
    assert Forecast.objects.get(customer=customer).state == "ok"


def test_forecast_command(organization, capsys):
    customer = CustomerFactory(organization=organization)
    ResourceMetric.objects.create(
        organization=organization,
        customer=customer,
        resource="bandwidth_gb",
        timestamp=NOW,
        value=1.0,
    )
    call_command("forecast", organization.slug, "--horizon", "3")
    assert "Forecast 1 series." in capsys.readouterr().out
    assert Forecast.objects.get().state == "not_enough_history"


def test_staff_dashboard_opens_on_accounts_needing_attention(
    client, organization, bundles
):
    def account(name, peak):
        customer = CustomerFactory(organization=organization, name=name)
        ResourceMetric.objects.create(
            organization=organization,
            customer=customer,
            resource="compute_hours",
            timestamp=NOW,
            value=1.0,
        )
        provisioning.entitlement_record(
            customer=customer, bundle=bundles["Startup Launch"], now=NOW
        )
        ForecastFactory(
            customer=customer,
            points=daily_points([(peak, peak, peak)] * 2, [(peak, peak)] * 2),
        )
        return customer

    calm = account("Aardvark Ltd", 50)
    breaching = account("Zebra Ltd", 150)
    pending = account("Mole Ltd", 50)
    Recommendation.objects.create(
        organization=organization,
        customer=pending,
        current_bundle=bundles["Startup Launch"],
        recommended_bundle=bundles["Growth Accelerator"],
        direction=Recommendation.Direction.UPGRADE,
        confidence=0.9,
        horizon_days=14,
        currency="USD",
        upgrade_cost=Decimal("28.00"),
        revenue_at_risk_current=Decimal("0.00"),
        revenue_at_risk_recommended=Decimal("0.00"),
        net_benefit=Decimal("-28.00"),
    )
    client.force_login(UserFactory(staff=True))
    response = client.get(f"/staff/scaling/?organization={organization.slug}")
    rows = response.context["accounts"]
    assert [(r.customer, r.pending, r.breaches) for r in rows] == [
        (pending, 1, ()),
        (breaching, 0, ("compute_hours",)),
        (calm, 0, ()),
    ]
    assert response.context["customer"] == pending
    assert "⚠ Zebra Ltd" in response.content.decode()


def _staff_member(organization, *codenames):
    from django.contrib.auth.models import Permission

    from metering.models import OrganizationMembership

    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="scaling", codename__in=codenames
        )
    )
    OrganizationMembership.objects.create(user=user, organization=organization)
    return user


DECIDING = ("view_forecast", "decide_recommendation")


@pytest.mark.clock("2026-11-10T00:00:00+00:00")
def test_staff_approval_is_confirmed_with_the_customers_quote(client, scaled_customer):
    client.force_login(_staff_member(scaled_customer.organization, *DECIDING))
    recommendation = scaled_customer.scaling_recommendations.get()

    dashboard = client.get(
        f"/staff/scaling/?account={scaled_customer.pk}"
        f"&organization={scaled_customer.organization.slug}"
    ).content.decode()
    response = client.get(
        f"/staff/scaling/recommendations/{recommendation.pk}/approve/"
    )

    assert (
        f'href="/staff/scaling/recommendations/{recommendation.pk}/approve/"'
        in dashboard
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert '<dd id="current-price">USD 59.00</dd>' in content
    assert '<dd id="new-price">USD 119.00</dd>' in content
    # (119 - 59) x 21/30, as the customer's own confirmation says.
    assert '<dd id="invoice-change">+USD 42.00</dd>' in content
    assert "Change on the next invoice" in content
    assert response.context["reason"] == (
        "Your use of compute hours is forecast to exceed your plan's 100 on 1 Jan 2026."
    )
    assert '<input type="hidden" name="new_price" value="119.00">' in content
    recommendation.refresh_from_db()
    assert recommendation.status == "pending"


@pytest.mark.clock("2026-11-10T00:00:00+00:00")
def test_staff_approval_records_who_and_applies_the_plan(
    client, scaled_customer, django_capture_on_commit_callbacks
):
    staff = _staff_member(scaled_customer.organization, *DECIDING)
    client.force_login(staff)
    recommendation = scaled_customer.scaling_recommendations.get()
    url = f"/staff/scaling/recommendations/{recommendation.pk}/approve/"

    stale = client.post(url, {"confirm": "1", "new_price": "59.00"})
    assert stale.status_code == 409
    assert [str(m) for m in stale.context["messages"]] == [
        "The price has changed since. Please review it again."
    ]
    recommendation.refresh_from_db()
    assert recommendation.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "1", "new_price": "119.00"})

    assert response.status_code == 302
    assert response.url == (
        f"/staff/scaling/?organization={scaled_customer.organization.slug}"
        f"&account={scaled_customer.pk}"
    )
    recommendation.refresh_from_db()
    assert (recommendation.status, recommendation.decided_by) == (
        "applied",
        staff.username,
    )
    assert recommendation.decided_at.date() == dt.date(2026, 11, 10)
    assert Entitlement.objects.get(customer=scaled_customer).bundle.name == (
        "Growth Accelerator"
    )


def test_staff_rejection_records_who_and_the_reason(client, scaled_customer):
    staff = _staff_member(scaled_customer.organization, *DECIDING)
    client.force_login(staff)
    recommendation = scaled_customer.scaling_recommendations.get()
    url = f"/staff/scaling/recommendations/{recommendation.pk}/reject/"

    page = client.get(url)
    response = client.post(
        url,
        {"confirm": "1", "reason": "  Customer is moving to annual billing. "},
        follow=True,
    )

    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()
    assert [str(m) for m in response.context["messages"]] == [
        "The change of Mine Ltd to Growth Accelerator is rejected."
    ]
    recommendation.refresh_from_db()
    assert (
        recommendation.status,
        recommendation.decided_by,
        recommendation.decision_note,
    ) == ("rejected", staff.username, "Customer is moving to annual billing.")
    row = response.content.decode()
    assert "Customer is moving to annual billing." in row
    assert Entitlement.objects.get(customer=scaled_customer).bundle.name == (
        "Startup Launch"
    )


def test_staff_rejection_without_a_reason_and_with_a_too_long_one(
    client, scaled_customer
):
    client.force_login(_staff_member(scaled_customer.organization, *DECIDING))
    recommendation = scaled_customer.scaling_recommendations.get()
    url = f"/staff/scaling/recommendations/{recommendation.pk}/reject/"

    too_long = client.post(url, {"confirm": "1", "reason": "x" * 301})

    assert too_long.status_code == 400
    assert too_long.context["form"].errors == {
        "reason": ["Ensure this value has at most 300 characters (it has 301)."]
    }
    recommendation.refresh_from_db()
    assert recommendation.status == "pending"

    assert client.post(url, {"confirm": "1"}).status_code == 302
    recommendation.refresh_from_db()
    assert (recommendation.status, recommendation.decision_note) == ("rejected", "")


def test_staff_decision_needs_the_permission_and_the_organization(
    client, scaled_customer, other_organization
):
    recommendation = scaled_customer.scaling_recommendations.get()
    approve = f"/staff/scaling/recommendations/{recommendation.pk}/approve/"
    reject = f"/staff/scaling/recommendations/{recommendation.pk}/reject/"
    body = {"confirm": "1", "new_price": "119.00"}

    client.force_login(_staff_member(scaled_customer.organization, "view_forecast"))
    codes = [
        client.get(approve).status_code,
        client.post(approve, body).status_code,
        client.post(reject, {"confirm": "1"}).status_code,
    ]
    assert codes == [403, 403, 403]
    dashboard = client.get(
        f"/staff/scaling/?account={scaled_customer.pk}"
        f"&organization={scaled_customer.organization.slug}"
    )
    assert "Review and approve" not in dashboard.content.decode()

    client.force_login(_staff_member(other_organization, *DECIDING))
    codes = [
        client.get(approve).status_code,
        client.post(approve, body).status_code,
        client.post(reject, {"confirm": "1"}).status_code,
    ]
    assert codes == [404, 404, 404]

    client.force_login(UserFactory())
    assert client.post(approve, body).url.startswith("/admin/login/")
    assert (
        client.get(
            f"/staff/scaling/recommendations/{recommendation.pk}/cancel/"
        ).status_code
        == 302
    )

    recommendation.refresh_from_db()
    assert (recommendation.status, recommendation.decided_by) == ("pending", "")


def test_staff_decision_on_a_decided_recommendation_returns(client, scaled_customer):
    client.force_login(_staff_member(scaled_customer.organization, *DECIDING))
    recommendation = scaled_customer.scaling_recommendations.get()
    base = f"/staff/scaling/recommendations/{recommendation.pk}"
    client.post(f"{base}/reject/", {"confirm": "1"})

    response = client.post(
        f"{base}/approve/", {"confirm": "1", "new_price": "119.00"}, follow=True
    )

    assert [str(m) for m in response.context["messages"]][-1] == (
        "This recommendation is rejected; only a pending one can be approved."
    )
    recommendation.refresh_from_db()
    assert recommendation.status == "rejected"
