"""Portal pages: the customer's bundle offers, accepted (after a confirmation page
that shows the price) and declined there, and what live bundles have used."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from billing_site.errors import InvalidTransition
from bundles import selectors, services
from bundles.models import PersonalizedBundle
from metering.selectors import portal_customer_for_request

RESPONSES = {"accept": services.bundle_accept, "decline": services.bundle_decline}


@login_required
def portal_bundles(request):
    customer = portal_customer_for_request(request)
    now = timezone.now()
    bundles = selectors.portal_bundles(customer=customer, at=now)
    use = selectors.allowance_use(customer=customer, bundles=bundles["active"], at=now)
    return render(
        request,
        "bundles/portal_bundles.html",
        {
            "customer": customer,
            "currency": customer.organization.currency,
            "offers": bundles["offers"],
            "active": [(bundle, use[bundle.pk]) for bundle in bundles["active"]],
        },
    )


def _own_bundle(request, pk: int) -> PersonalizedBundle:
    customer = portal_customer_for_request(request)
    bundle = (
        selectors.customer_bundles(
            organization=customer.organization, customer=customer
        )
        .filter(pk=pk)
        .first()
    )
    if bundle is None:
        raise Http404("No such bundle")
    return bundle


@login_required
@require_GET
def portal_bundle_accept_confirm(request, pk: int):
    """What accepting costs: the bundle's price, the invoice that bills it and what
    it replaces; the acceptance is posted from this page only."""
    bundle = _own_bundle(request, pk)
    if bundle.status != PersonalizedBundle.Status.OFFERED:
        messages.error(
            request,
            f"{selectors.bundle_name(bundle)} is {bundle.get_status_display().lower()}"
            "; only an open offer can be accepted.",
        )
        return redirect("portal:bundles")
    return render(
        request,
        "bundles/portal_accept_confirm.html",
        {
            "bundle": bundle,
            "name": selectors.bundle_name(bundle),
            # Invoicing bills the price in the month the bundle takes effect: the
            # later of its start and its acceptance (now, if accepted from here).
            "billed_from": max(bundle.valid_from, timezone.now()),
        },
    )


@login_required
@require_POST
def portal_bundle_respond(request, pk: int, action: str):
    service = RESPONSES.get(action)
    if service is None:
        raise Http404("Unknown action")
    bundle = _own_bundle(request, pk)
    if action == "accept" and request.POST.get("price") != str(bundle.price):
        # Only the confirmation page posts the price it showed.
        return redirect("portal:bundle-accept", pk=bundle.pk)
    try:
        service(
            bundle=bundle,
            now=timezone.now(),
            actor=f"portal:{request.user.get_username()}",
        )
    except InvalidTransition as error:
        messages.error(request, error.message)
    else:
        name = selectors.bundle_name(bundle)
        if action == "accept":
            messages.success(request, f"{name} is now active.")
        else:
            messages.info(request, f"You declined {name}.")
    return redirect("portal:bundles")
