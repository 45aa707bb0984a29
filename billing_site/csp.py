"""The Content-Security-Policy header every HTML page is sent with.

Pages run no inline script: behaviour lives in static files (``static/js/pages.js``
renders charts from JSON data blocks and wires form controls), so ``script-src`` is
the site's own origin only. Inline styles stay allowed: the admin's templates and
plotly's charts set ``style`` attributes and insert style elements.
"""

from django.conf import settings

DEFAULT_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy_header(policy: dict[str, list[str]]) -> str:
    return "; ".join(
        " ".join([directive, *sources]) for directive, sources in policy.items()
    )


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` (``settings.CONTENT_SECURITY_POLICY``) to
    responses that do not set their own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = policy_header(
            getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response
