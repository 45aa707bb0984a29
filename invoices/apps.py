from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"

    def ready(self) -> None:
        from invoices.selectors import customer_has_invoices
        from metering.services import CUSTOMER_DELETE_GUARDS

        if customer_has_invoices not in CUSTOMER_DELETE_GUARDS:
            CUSTOMER_DELETE_GUARDS.append(customer_has_invoices)

        from metering.signals import usage_batch_stored

        usage_batch_stored.connect(
            spend_alerts_after_usage, dispatch_uid="invoices.spend_alerts"
        )


def spend_alerts_after_usage(sender, *, organization, customer_ids, now, **kwargs):
    """A stored usage batch named customers with spend alerts: rate their bills
    in a task, once the batch is committed."""
    from django.db import transaction

    from invoices.tasks import spend_alerts_evaluate

    ids = sorted(customer_ids)
    transaction.on_commit(
        lambda: spend_alerts_evaluate.delay(organization.pk, ids, now.isoformat())
    )
