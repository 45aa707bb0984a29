"""The API's OpenAPI description: the error shape every operation may answer with,
and the schema class that declares those errors where they apply.

``ApiAutoSchema`` (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``) adds to each
operation the errors of ``billing_site.api_errors`` in one shape,
``ErrorResponse`` (``{"errors": {field: [messages]}}``):

- 400 everywhere: any query parameter may be refused (a NUL character, a bad
  ``limit``), and every body is validated;
- 401 and 403 everywhere: no or an invalid key, or a staff session without the
  permission;
- 404 where the path names an object;
- 409 for deletions (others still refer to the row);
- 413 and 415 where the operation takes a body (its byte limit, JSON only);
- 429 everywhere: the per-key request rate (ingestion has its own, higher one).

Request bodies get components of their own (``COMPONENT_SPLIT_REQUEST``), named
``...Request`` unless the serializer's name already says ``Input``.

An operation declares any other error (a 409 of a state change, a 404 of a
customer named in the query) in its own ``extend_schema``.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: the errors name each field at fault (dotted paths for "
    "nested fields), or non_field_errors.",
    "401": "No API key, or an invalid or revoked one.",
    "403": "The caller may not perform this operation.",
    "404": "No such object in the organization.",
    "409": "Conflicts with the current state of the object.",
    "413": "The request body is larger than this operation accepts.",
    "415": "The request body is not JSON.",
    "429": "Too many requests; retry after the seconds the Retry-After header says.",
}


class ErrorResponseSerializer(serializers.Serializer):
    """Every error of the API: messages by field (``detail`` for errors that
    concern the request as a whole)."""

    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField())
    )

    class Meta:
        ref_name = "ErrorResponse"


def error_response(code: int | str) -> OpenApiResponse:
    """The error shape with the description of ``code``, for ``extend_schema``."""
    return OpenApiResponse(ErrorResponseSerializer, ERROR_DESCRIPTIONS[str(code)])


def error_responses(*codes: int) -> dict:
    return {code: error_response(code) for code in codes}


def customer_filter_parameters(*deprecated: str) -> list[OpenApiParameter]:
    """The customer filter of a list operation, ``customer_id``, with the names it
    replaces, declared deprecated (``billing_site.api_input.aliased_query_param``
    reads them)."""
    return [
        OpenApiParameter(
            "customer_id",
            OpenApiTypes.STR,
            description="The customer's external id, or its id.",
        ),
        *(
            OpenApiParameter(
                name,
                OpenApiTypes.STR,
                deprecated=True,
                description="Deprecated: use customer_id.",
            )
            for name in deprecated
        ),
    ]


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema with the API's error responses (module docstring)."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(
            path, path_regex, path_prefix, method, registry
        )
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(path, operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_response(code), code
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        if direction == "request" and name.endswith("InputRequest"):
            return name.removesuffix("Request")
        return name

    def _error_codes(self, path: str, operation: dict) -> list[str]:
        codes = ["400", "401", "403"]
        if "{" in path:
            codes.append("404")
        if self.method == "DELETE":
            codes.append("409")
        if "requestBody" in operation:
            codes.extend(["413", "415"])
        codes.append("429")
        return codes
