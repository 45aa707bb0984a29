"""Beat entries of metering (upserted by ``manage.py setup_periodic_tasks``)."""

from billing_site.periodic import PeriodicTaskSpec


def periodic_tasks() -> list[PeriodicTaskSpec]:
    return [
        PeriodicTaskSpec(
            name="metering: ensure usage partitions",
            task="metering.ensure_usage_partitions",
            # 01:15 UTC every day: partitions exist three months ahead, so a few
            # missed runs never leave a month to the DEFAULT partition.
            crontab={"minute": "15", "hour": "1"},
            description="Create the usage event table's monthly partitions ahead.",
        ),
        PeriodicTaskSpec(
            name="metering: fold usage counter increments",
            task="metering.fold_usage_counters",
            # Every minute: readers add pending increments themselves, so this
            # only keeps the increment table small.
            crontab={"minute": "*"},
            description="Add the increments ingestion appended into the counters.",
        ),
    ]
