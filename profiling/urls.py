"""URL patterns this app contributes; the root URLconf mounts each list."""

from django.urls import path, re_path

from profiling import views
from profiling.api import CustomerProfileApi, PredictNextApi, SegmentListApi

api_urlpatterns = [
    re_path(
        r"^customers/(?P<id>[^/]+)/profile/?$",
        CustomerProfileApi.as_view(),
        name="customer-profile",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/predict-next/?$",
        PredictNextApi.as_view(),
        name="customer-predict-next",
    ),
    re_path(r"^segments/?$", SegmentListApi.as_view(), name="segment-list"),
]
staff_urlpatterns = [
    path("profiling/", views.run_list, name="profiling-runs"),
    path("profiling/runs/<int:run_id>/", views.run_detail, name="profiling-run"),
    path(
        "profiling/segments/<int:segment_id>/",
        views.segment_detail,
        name="profiling-segment",
    ),
    path(
        "profiling/customers/<int:customer_id>/",
        views.customer_profile,
        name="profiling-customer",
    ),
]
portal_urlpatterns: list = []
