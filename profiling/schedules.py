"""Beat entries of profiling (upserted by ``manage.py setup_periodic_tasks``)."""

from billing_site.periodic import PeriodicTaskSpec


def periodic_tasks() -> list[PeriodicTaskSpec]:
    return [
        PeriodicTaskSpec(
            name="profiling: nightly run per organization",
            task="profiling.tasks.profile_all_organizations",
            # 02:30 UTC: after the day's late events have mostly arrived and before
            # the bundles app creates the morning's offers (03:30).
            crontab={"minute": "30", "hour": "2"},
            description="Profile every organization's customers once a night.",
        )
    ]
