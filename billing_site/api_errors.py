"""One error shape for the whole API: ``{"errors": {field: [messages]}}``.

DRF validation errors, Django ``ValidationError`` raised by services and domain errors
(subclasses of ``DomainError``) all become 400s in that shape, ``Conflict`` a 409;
other API exceptions keep their status and carry their detail under
``errors.detail``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing_site.errors import Conflict, DomainError


def _as_lists(detail) -> dict:
    if isinstance(detail, dict):
        return {
            key: value if isinstance(value, (list, dict)) else [value]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def django_validation_error_dict(error: DjangoValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if key == "__all__" else key): messages
            for key, messages in error.message_dict.items()
        }
    return {"non_field_errors": list(error.messages)}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return Response(
            {"errors": django_validation_error_dict(exc)},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DomainError):
        return Response(
            {"errors": {exc.field: [exc.message]}},
            status=(
                status.HTTP_409_CONFLICT
                if isinstance(exc, Conflict)
                else status.HTTP_400_BAD_REQUEST
            ),
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _as_lists(exc.detail)}
    else:
        response.data = {"errors": {"detail": [response.data.get("detail", "")]}}
    return response
