"""Portal pages: the customer's bundle offers, accepted and declined there."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing_site.errors import InvalidTransition
from bundles import selectors, services
from metering.selectors import portal_customer_for_request

RESPONSES = {"accept": services.bundle_accept, "decline": services.bundle_decline}


@login_required
def portal_bundles(request):
    customer = portal_customer_for_request(request)
    bundles = selectors.portal_bundles(customer=customer, at=timezone.now())
    return render(
        request,
        "bundles/portal_bundles.html",
        {"customer": customer, "currency": customer.organization.currency, **bundles},
    )


@login_required
@require_POST
def portal_bundle_respond(request, pk: int, action: str):
    customer = portal_customer_for_request(request)
    service = RESPONSES.get(action)
    if service is None:
        raise Http404("Unknown action")
    bundle = (
        selectors.customer_bundles(
            organization=customer.organization, customer=customer
        )
        .filter(pk=pk)
        .first()
    )
    if bundle is None:
        raise Http404("No such bundle")
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
