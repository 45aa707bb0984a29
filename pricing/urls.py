"""URL patterns this app contributes; the root URLconf mounts each list."""

from django.urls import path

from billing_site.routers import OptionalSlashRouter
from pricing import views
from pricing.api import BillingModelViewSet

router = OptionalSlashRouter()
router.register("billing-models", BillingModelViewSet, basename="billing-model")

api_urlpatterns = router.urls  # under /api/v1/
staff_urlpatterns = [  # under /staff/, namespace "staff"
    path("pricing/calculator/", views.cost_calculator, name="pricing-calculator"),
    path(
        "pricing/reports/bpo-comparison/",
        views.bpo_comparison_report,
        name="pricing-bpo-comparison",
    ),
]
portal_urlpatterns: list = []  # under /portal/, namespace "portal"
