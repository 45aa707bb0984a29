"""How the API key authentication appears in the OpenAPI schema.

Registered by importing this module (``metering.api`` does); drf-spectacular
finds the extension by the authenticator's dotted path.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "metering.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; `manage.py create_api_key` issues one.",
        }
