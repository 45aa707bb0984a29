"""One error shape for the whole API: ``{"errors": {field: [messages]}}``.

DRF validation errors (nested ones flattened to dotted field paths, e.g.
``operations.0.operation``), Django ``ValidationError`` raised by services and
domain errors (subclasses of ``DomainError``) all become 400s in that shape,
``Conflict`` a 409, and so is deleting a row that others still refer to
(Django's ``ProtectedError`` / ``RestrictedError``);
other API exceptions keep their status and carry their detail under
``errors.detail``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing_site.errors import Conflict, DomainError


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as one level of dotted field paths:
    ``{"operations": [{}, {"operation": ["..."]}]}`` becomes
    ``{"operations.1.operation": ["..."]}``, and a nested serializer's own
    ``non_field_errors`` are its field's (``{"operations": ["..."]}``)."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors" and prefix:
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten_errors(value, path).items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(detail, list) and any(isinstance(i, (dict, list)) for i in detail):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                nested = flatten_errors(
                    value, f"{prefix}.{index}" if prefix else str(index)
                )
            else:
                nested = {prefix or "non_field_errors": [str(value)]}
            for field, messages in nested.items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if detail:
            flat[prefix or "non_field_errors"] = [str(message) for message in detail]
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


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
    if isinstance(exc, (ProtectedError, RestrictedError)):
        return Response(
            {"errors": {"detail": [_still_referenced(exc)]}},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": flatten_errors(exc.detail)}
    else:
        response.data = {"errors": {"detail": [response.data.get("detail", "")]}}
    return response


def _still_referenced(exc: ProtectedError | RestrictedError) -> str:
    """ "Cannot delete: 2 subscriptions still refer to it." from the objects the
    deletion found, counted by kind."""
    objects = (
        exc.protected_objects
        if isinstance(exc, ProtectedError)
        else exc.restricted_objects
    )
    counts: dict = {}
    for obj in objects:
        counts[obj._meta] = counts.get(obj._meta, 0) + 1
    parts = sorted(
        f"{count} {meta.verbose_name if count == 1 else meta.verbose_name_plural}"
        for meta, count in counts.items()
    )
    verb = "refers" if sum(counts.values()) == 1 else "refer"
    return f"Cannot delete: {', '.join(parts)} still {verb} to it."
