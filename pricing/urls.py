"""URL patterns this app contributes; the root URLconf mounts each list."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from pricing import views
from pricing.api import BillingModelViewSet

router = DefaultRouter()
# Routes answer with and without the trailing slash (DRF turns any truthy
# ``trailing_slash`` argument into "/", so the pattern is set afterwards).
router.trailing_slash = "/?"
router.include_root_view = False
router.register("billing-models", BillingModelViewSet, basename="billing-model")

api_urlpatterns = router.urls  # under /api/v1/
staff_urlpatterns = [  # under /staff/, namespace "staff"
    path("pricing/calculator/", views.cost_calculator, name="pricing-calculator"),
    path(
        "pricing/reports/tier-utilisation/",
        views.tier_utilisation_report,
        name="pricing-tier-utilisation",
    ),
    path(
        "pricing/reports/bpo-comparison/",
        views.bpo_comparison_report,
        name="pricing-bpo-comparison",
    ),
]
portal_urlpatterns: list = []  # under /portal/, namespace "portal"
