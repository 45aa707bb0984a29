"""Template context shared by the staff pages."""

from django.contrib import admin


def staff_site(request) -> dict:
    """The admin site's header, title and user tools for staff pages under
    /staff/, so they look like the admin they extend (without its app sidebar,
    which these full-width report pages do not need)."""
    if not request.path.startswith("/staff/"):
        return {}
    user = getattr(request, "user", None)
    if not (user and user.is_active and user.is_staff):
        return {}
    return {**admin.site.each_context(request), "is_nav_sidebar_enabled": False}
