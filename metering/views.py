"""Customer portal pages owned by metering: login and the home page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from metering.selectors import portal_customer_for_request


@login_required
def portal_home(request):
    customer = portal_customer_for_request(request)
    return render(request, "portal/home.html", {"customer": customer})
