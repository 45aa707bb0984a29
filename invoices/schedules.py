"""Beat entries of invoices (upserted by ``manage.py setup_periodic_tasks``)."""

from billing_site.periodic import PeriodicTaskSpec


def periodic_tasks() -> list[PeriodicTaskSpec]:
    return [
        PeriodicTaskSpec(
            name="invoices: hourly invoicing cycle",
            task="invoices.tasks.invoicing_cycle_all",
            # Minute 5 of every hour: regenerate the last closed month and day while
            # their drafts are in the grace window, then finalize those past it.
            crontab={"minute": "5"},
            description="Generate, refresh and finalize invoices of closed periods.",
        ),
        PeriodicTaskSpec(
            name="invoices: expire wallet credits",
            task="invoices.tasks.wallet_credits_expire_all",
            # Minute 15 of every hour: credits past their expiry leave the balance.
            crontab={"minute": "15"},
            description="Expire what is left of customers' prepaid credits.",
        ),
    ]
