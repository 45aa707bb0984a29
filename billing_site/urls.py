"""Root URLs: admin, staff pages, the customer portal and the API under /api/v1/.

Each domain app's ``urls.py`` exposes ``api_urlpatterns``, ``staff_urlpatterns`` and
``portal_urlpatterns``; they are mounted here, in dependency order.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from bundles import urls as bundles_urls
from invoices import urls as invoices_urls
from metering import urls as metering_urls
from pricing import urls as pricing_urls
from profiling import urls as profiling_urls
from scaling import urls as scaling_urls

admin.site.site_header = "Usage Billing administration"
admin.site.site_title = "Usage Billing"
admin.site.index_title = "Billing operations"

APPS = [
    metering_urls,
    pricing_urls,
    profiling_urls,
    bundles_urls,
    invoices_urls,
    scaling_urls,
]


def _collect(name: str) -> list:
    return [pattern for app in APPS for pattern in getattr(app, name, [])]


api_urlpatterns = [
    *_collect("api_urlpatterns"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file: no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

handler404 = "billing_site.api_input.not_found"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="root"),
    path("admin/", admin.site.urls),
    path("staff/", include((_collect("staff_urlpatterns"), "staff"))),
    path("portal/", include((_collect("portal_urlpatterns"), "portal"))),
    path("api/v1/", include(api_urlpatterns)),
]
