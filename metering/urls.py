from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from billing_site.routers import OptionalSlashRouter
from metering import views
from metering.api import CustomerViewSet, UsageEventBatchApi, UsageEventListCreateApi
from metering.api_alerts import CustomerAlertApi, CustomerAlertsApi

router = OptionalSlashRouter()
router.register("customers", CustomerViewSet, basename="customer")

api_urlpatterns = [
    re_path(r"^events/?$", UsageEventListCreateApi.as_view(), name="usage-event-list"),
    re_path(
        r"^events/batch/?$", UsageEventBatchApi.as_view(), name="usage-event-batch"
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/alerts/?$",
        CustomerAlertsApi.as_view(),
        name="customer-alerts",
    ),
    re_path(
        r"^customers/(?P<customer_id>[^/]+)/alerts/(?P<id>[^/]+)/?$",
        CustomerAlertApi.as_view(),
        name="customer-alert",
    ),
    *router.urls,
]

staff_urlpatterns = [
    path("live-usage/", views.live_usage_page, name="live-usage"),
    path("live-usage/data/", views.live_usage_data, name="live-usage-data"),
]

portal_urlpatterns = [
    path("", views.portal_home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="portal/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
