"""Beat entries of bundles (upserted by ``manage.py setup_periodic_tasks``)."""

from billing_site.periodic import PeriodicTaskSpec


def periodic_tasks() -> list[PeriodicTaskSpec]:
    return [
        PeriodicTaskSpec(
            name="bundles: create personalised bundles",
            task="bundles.tasks.create_personalized_bundles_all",
            # 03:30 UTC every day, after the nightly profiling run (02:30).
            crontab={"minute": "30", "hour": "3"},
            description="Offer each customer the bundles their predictions justify.",
        ),
        PeriodicTaskSpec(
            name="bundles: expire bundles",
            task="bundles.tasks.expire_bundles",
            # Every five minutes, so session bundles end close to their validity.
            crontab={"minute": "*/5"},
            description="Expire offers and bundles whose validity has ended.",
        ),
    ]
