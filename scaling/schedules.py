"""Beat entries of scaling (upserted by ``manage.py setup_periodic_tasks``)."""

from billing_site.periodic import PeriodicTaskSpec
from metering.models import Organization

# Forecasts (and then the dynamic adjustment) refresh every 6 hours per organization.
FORECAST_EVERY_HOURS = 6


def periodic_tasks() -> list[PeriodicTaskSpec]:
    """Two entries per organization; run setup again after adding organizations."""
    specs = []
    for organization in Organization.objects.order_by("slug"):
        specs += [
            PeriodicTaskSpec(
                name=f"scaling: forecast {organization.slug}",
                task="scaling.forecast_organization",
                every_hours=FORECAST_EVERY_HOURS,
                args=(organization.pk,),
                description="Refresh resource forecasts and recommendations.",
            ),
            PeriodicTaskSpec(
                name=f"scaling: adjust {organization.slug}",
                task="scaling.adjust_organization",
                every_hours=FORECAST_EVERY_HOURS,
                args=(organization.pk,),
                description="Compare utilisation with the active bundle; adjust.",
            ),
        ]
    return specs
