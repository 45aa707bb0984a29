"""Staff pages: who may open them, and which organizations they show.

A staff page needs an active staff login and the Django permissions it names; it
shows only the organizations the user may act for
(``metering.selectors.staff_organizations``), and answers 404 for another one's.
"""

from functools import wraps

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied


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
