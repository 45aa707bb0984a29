"""DRF authentication by API key and the permission that every API view requires.

Referenced from ``REST_FRAMEWORK`` settings; views of other apps use the organization
through ``metering.selectors.organization_for_request``.
"""

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from metering.models import ApiKey
from metering.selectors import api_key_get_active, organization_for_request
from metering.services import api_key_touch

KEYWORD = "Api-Key"


class ApiKeyUser:
    """The identity of a request authenticated by an API key (not a Django user)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, api_key):
        self.api_key = api_key
        self.pk = self.id = f"api-key-{api_key.pk}"

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``; a revoked or unknown key is a 401."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(
            "latin-1", errors="replace"
        )
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected 'Api-Key <key>'."
            )
        api_key = api_key_get_active(raw_key=parts[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        api_key_touch(api_key=api_key, now=timezone.now())
        return (ApiKeyUser(api_key), api_key)

    def authenticate_header(self, request) -> str:
        return KEYWORD


_METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def required_permissions(request, view) -> list[str]:
    """The Django permissions a staff user needs for this API request.

    A view names its model in ``permission_model`` (else its queryset's model);
    the HTTP method gives view/add/change/delete, unless ``action_permissions``
    maps the viewset action (or, for plain views, the method) to another
    permission, e.g. ``{"finalize": "invoices.finalize_invoice"}``.
    """
    overrides = getattr(view, "action_permissions", {})
    for key in (getattr(view, "action", None), request.method):
        if key in overrides:
            return [overrides[key]]
    model = getattr(view, "permission_model", None)
    if model is None and getattr(view, "queryset", None) is not None:
        model = view.queryset.model
    if model is None:
        raise exceptions.PermissionDenied("This operation declares no permission.")
    action = _METHOD_ACTIONS.get(request.method, "change")
    return [f"{model._meta.app_label}.{action}_{model._meta.model_name}"]


class HasOrganization(permissions.BasePermission):
    """Allows a request that resolves to an organization (see the selector): with
    an API key, anything in the key's organization; as staff, in one of their
    organizations, what their model permissions allow."""

    message = (
        "Authenticate with an API key, or as staff name one of your organizations "
        "with ?organization=<slug> and hold the permission for this operation."
    )

    def has_permission(self, request, view) -> bool:
        organization = organization_for_request(request)
        if organization is None:
            return False
        if not isinstance(request.auth, ApiKey) and not request.user.has_perms(
            required_permissions(request, view)
        ):
            return False
        request.organization = organization
        return True
