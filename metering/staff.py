"""Staff pages and the admin: who may open them, and which organizations they show.

A staff page needs an active staff login and the Django permissions it names; it
shows only the organizations the user may act for
(``metering.selectors.staff_organizations``), and answers 404 for another one's.
Admin classes of every app mix in ``OrganizationScoped`` for the same rule.
"""

from functools import cache, wraps

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied

from metering.models import Customer, Organization
from metering.selectors import staff_organizations


def staff_page(*permissions: str):
    """Decorate a staff view: the login page for anyone not staff, 403 for staff
    without ``permissions``."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied("You do not have permission to see this page.")
            return view(request, *args, **kwargs)

        return staff_member_required(checked)

    return decorate


@cache
def organization_lookup(model, depth: int = 3) -> str | None:
    """The ORM path from ``model`` to the organization it belongs to:
    ``"organization"``, ``"customer__organization"``, ``"run__organization"``...;
    ``"pk"`` for the organization itself, ``None`` when there is none. Computed
    once per model: admin pages ask on every request."""
    if model is Organization:
        return "pk"
    fields = [
        field
        for field in model._meta.get_fields()
        if (field.many_to_one or field.one_to_one)
        and field.concrete
        and field.related_model is not None
    ]
    for field in fields:
        if field.related_model is Organization:
            return field.name
    if depth == 0:
        return None
    # Prefer the customer, then any other parent, nearest first.
    fields.sort(key=lambda field: field.related_model is not Customer)
    for field in fields:
        below = organization_lookup(field.related_model, depth - 1)
        if below is not None:
            return field.name if below == "pk" else f"{field.name}__{below}"
    return None


def scoped_to_staff(queryset, user):
    """``queryset`` restricted to the organizations ``user`` may act for (all for a
    superuser; nothing for rows that belong to no organization)."""
    if user.is_superuser:
        return queryset
    lookup = organization_lookup(queryset.model)
    if lookup is None:
        return queryset.none()
    return queryset.filter(**{f"{lookup}__in": staff_organizations(user)})


class OrganizationScoped:
    """For admin classes and inlines: staff see and choose only rows of the
    organizations they may act for (``staff_organizations``); superusers see all.

    Change lists, change pages (another organization's row is "not found"),
    foreign-key choices (so nothing can be created in or moved to another
    organization) and the organization filter are all scoped."""

    def get_queryset(self, request):
        return scoped_to_staff(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scoped_to_staff(formfield.queryset, request.user)
        return formfield

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser:
            return filters
        return [
            (item, admin.RelatedOnlyFieldListFilter)
            if isinstance(item, str) and item.split("__")[-1] == "organization"
            else item
            for item in filters
        ]
