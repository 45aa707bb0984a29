"""URL patterns this app contributes; the root URLconf mounts each list."""

from django.urls import path, re_path

from scaling import api, views

api_urlpatterns = [  # under /api/v1/
    re_path(r"^metrics/batch/?$", api.MetricBatchApi.as_view(), name="metric-batch"),
    re_path(
        r"^customers/(?P<id>[^/]+)/forecasts/?$",
        api.CustomerForecastApi.as_view(),
        name="customer-forecasts",
    ),
    re_path(
        r"^accounts/(?P<id>[^/]+)/forecasts/?$",
        api.AccountForecastApi.as_view(),
        name="account-forecasts",
    ),
    re_path(
        r"^recommendations/?$",
        api.RecommendationListApi.as_view(),
        name="recommendation-list",
    ),
    re_path(
        r"^recommendations/(?P<id>[0-9]+)/approve/?$",
        api.RecommendationDecisionApi.as_view(decision="approve"),
        name="recommendation-approve",
    ),
    re_path(
        r"^recommendations/(?P<id>[0-9]+)/reject/?$",
        api.RecommendationDecisionApi.as_view(decision="reject"),
        name="recommendation-reject",
    ),
]
staff_urlpatterns = [  # under /staff/, namespace "staff"
    path("scaling/", views.staff_dashboard, name="scaling"),
    path(
        "scaling/recommendations/<int:pk>/<str:decision>/",
        views.staff_decide,
        name="scaling-decide",
    ),
]
portal_urlpatterns = [  # under /portal/, namespace "portal"
    path("scaling/", views.portal_dashboard, name="scaling"),
    path(
        "scaling/recommendations/<int:pk>/approve/confirm/",
        views.portal_approve_confirm,
        name="scaling-approve",
    ),
    path(
        "scaling/recommendations/<int:pk>/<str:decision>/",
        views.portal_decide,
        name="scaling-decide",
    ),
]
