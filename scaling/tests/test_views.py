import datetime as dt

import pytest
from django.core.management import call_command

from metering.tests.factories import CustomerFactory, PortalUserFactory, UserFactory
from scaling import charts
from scaling.models import Forecast, ResourceMetric
from scaling.services import provisioning
from scaling.services.recommendations import recommendation_generate
from scaling.tasks import forecast_organization_task
from scaling.tests.factories import ForecastFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC)


def test_forecast_chart_has_bands_forecast_and_actuals():
    forecast = ForecastFactory.build()
    actuals = [(NOW, 120.0)]
    figure = charts.forecast_with_interval_figure(
        resource="compute_hours",
        actuals=actuals,
        points=forecast.points,
        capacity=100.0,
    )
    names = [trace.name for trace in figure.data]
    assert names == ["95% interval", "80% interval", "forecast", "actual", "capacity"]
    assert list(figure.data[0].y) == [160, 160, 140, 140]
    assert list(figure.data[2].y) == [150, 150]
    assert list(figure.data[4].y) == [100.0, 100.0]
    assert figure.layout.title.text == "compute_hours: forecast"


def test_utilisation_chart_draws_capacity():
    figure = charts.utilisation_figure(
        resource="storage_gb", actuals=[(NOW, 1.0), (NOW, 2.0)], capacity=5.0
    )
    assert [list(trace.y) for trace in figure.data] == [[1.0, 2.0], [5.0, 5.0]]


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
    assert "Growth Accelerator" in content and "116.00" in content
    assert "plotly/plotly.min.js" in content
    recommendation = response.context["recommendations"][0]
    reply = client.post(f"/portal/scaling/recommendations/{recommendation.pk}/reject/")
    assert reply.status_code == 302
    recommendation.refresh_from_db()
    assert recommendation.status == "rejected"


def test_portal_cannot_decide_for_another_account(client, scaled_customer):
    stranger = PortalUserFactory(
        customer=CustomerFactory(organization=scaled_customer.organization)
    )
    client.force_login(stranger.user)
    pk = scaled_customer.scaling_recommendations.get().pk
    assert (
        client.post(f"/portal/scaling/recommendations/{pk}/approve/").status_code == 404
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
