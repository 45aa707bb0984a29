"""Reads on tenancy, always scoped by organization first."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from metering.models import ApiKey, Customer, Organization
from metering.services import api_key_hash


def api_key_get_active(*, raw_key: str) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("organization")
        .filter(hashed_key=api_key_hash(raw_key), revoked_at__isnull=True)
        .first()
    )


def organization_for_request(request) -> Organization | None:
    """The organization an API request acts for.

    An API key implies its organization. A staff user with a session names one with
    ``?organization=<slug>`` or the ``X-Organization`` header; a superuser without
    either gets the only organization when there is exactly one.
    """
    if isinstance(getattr(request, "auth", None), ApiKey):
        return request.auth.organization
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return None
    slug = (
        request.query_params.get("organization")
        if hasattr(request, "query_params")
        else request.GET.get("organization")
    )
    slug = slug or request.headers.get("X-Organization")
    if slug:
        return Organization.objects.filter(slug=slug).first()
    organizations = list(Organization.objects.all()[:2])
    return organizations[0] if len(organizations) == 1 else None


def customer_list(*, organization: Organization) -> QuerySet[Customer]:
    return Customer.objects.filter(organization=organization)


def customer_get(*, organization: Organization, key: str | int) -> Customer:
    """A customer by primary key or by external id; 404 outside the organization.

    A purely numeric key is tried as primary key first, then as external id.
    """
    customers = customer_list(organization=organization)
    key = str(key)
    if key.isdigit():
        customer = customers.filter(pk=int(key)).first()
        if customer is not None:
            return customer
    customer = customers.filter(external_id=key).first()
    if customer is None:
        raise Http404(f"No customer {key!r}")
    return customer


def portal_customer_for_request(request) -> Customer:
    """The customer whose portal the logged-in user may see; 403 for anyone else."""
    portal_user = getattr(request.user, "portal_user", None)
    if portal_user is None:
        raise PermissionDenied("This login is not linked to a customer account.")
    return portal_user.customer
