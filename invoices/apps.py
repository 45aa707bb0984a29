from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"

    def ready(self) -> None:
        from invoices.selectors import customer_has_invoices
        from metering.services import CUSTOMER_DELETE_GUARDS

        if customer_has_invoices not in CUSTOMER_DELETE_GUARDS:
            CUSTOMER_DELETE_GUARDS.append(customer_has_invoices)
