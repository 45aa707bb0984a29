"""Run inside a subprocess by test_demo_sqlite: every key screen of the demo answers.

Prints one line per page, ``<status> <path>``.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_site.settings")
django.setup()

from django.http import HttpRequest  # noqa: E402
from django.test import Client  # noqa: E402

STAFF = [
    "/admin/",
    "/admin/metering/customer/",
    "/admin/metering/usageevent/",
    "/admin/metering/usagecounter/",
    "/admin/pricing/billingmodel/",
    "/admin/bundles/bundletemplate/",
    "/admin/bundles/bundletemplate/add/",
    "/admin/bundles/personalizedbundle/",
    "/admin/invoices/invoice/",
    "/admin/profiling/profilingrun/",
    "/admin/scaling/recommendation/",
    "/staff/live-usage/",
    "/staff/pricing/calculator/",
    "/staff/pricing/reports/tier-utilisation/",
    "/staff/pricing/reports/bpo-comparison/",
    "/staff/profiling/",
    "/staff/scaling/",
    "/api/v1/docs/",
]
PORTAL = ["/portal/", "/portal/bundles/", "/portal/invoices/", "/portal/scaling/"]

password = os.environ.get("DEMO_ADMIN_PASSWORD", "demo-admin-2026")
for username, paths in (("admin", STAFF), ("customer", PORTAL)):
    client = Client(raise_request_exception=False)
    # Logins go through django-axes, which needs the request.
    assert client.login(request=HttpRequest(), username=username, password=password)
    for path in paths:
        print(client.get(path).status_code, path, flush=True)
