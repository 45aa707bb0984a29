"""URL patterns this app contributes; the root URLconf mounts each list."""

from django.urls import path, re_path

from billing_site.routers import OptionalSlashRouter
from bundles import api, views

router = OptionalSlashRouter()
router.register(
    "bundle-templates", api.BundleTemplateViewSet, basename="bundle-template"
)

api_urlpatterns = [  # under /api/v1/
    re_path(
        r"^operation-prices/?$",
        api.OperationPriceListCreateApi.as_view(),
        name="operation-price-list",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/bundles/?$",
        api.CustomerBundleListApi.as_view(),
        name="customer-bundles",
    ),
    re_path(
        r"^bundles/(?P<id>[0-9]+)/?$", api.BundleDetailApi.as_view(), name="bundle"
    ),
    re_path(
        r"^bundles/(?P<id>[0-9]+)/accept/?$",
        api.BundleAcceptApi.as_view(),
        name="bundle-accept",
    ),
    re_path(
        r"^bundles/(?P<id>[0-9]+)/decline/?$",
        api.BundleDeclineApi.as_view(),
        name="bundle-decline",
    ),
    *router.urls,
]
staff_urlpatterns: list = []  # under /staff/, namespace "staff"
portal_urlpatterns = [  # under /portal/, namespace "portal"
    path("bundles/", views.portal_bundles, name="bundles"),
    path(
        "bundles/<int:pk>/accept/confirm/",
        views.portal_bundle_accept_confirm,
        name="bundle-accept",
    ),
    path(
        "bundles/<int:pk>/<str:action>/",
        views.portal_bundle_respond,
        name="bundle-respond",
    ),
]
