"""Settings are safe by default: DEBUG is off unless the environment asks for it,
and production settings pass Django's deployment checks."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.clockless  # settings only: nothing here reads a clock

PRODUCTION = {
    "SECRET_KEY": "k3Yq-production-only-9VdN2xW7pLr4tZ8mBc6sHf1jQe5uGa0oIy3nXv",
    "ALLOWED_HOSTS": "billing.example.com",
}


def _run(args: list[str], tmp_path, **variables) -> subprocess.CompletedProcess:
    """A fresh interpreter with nothing of this environment but the path and the
    given variables (so no DEBUG unless given)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "billing_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **variables,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
    "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS)"
)


def test_debug_is_off_and_https_enforced_unless_development_is_asked_for(tmp_path):
    production = _run(["-c", SHOW], tmp_path, **PRODUCTION)
    development = _run(["-c", SHOW], tmp_path, DEBUG="true")

    assert production.stdout.split() == [
        "False", "True", "True", "True", "True", "31536000"
    ]  # fmt: skip
    assert development.stdout.split() == [
        "True",
        "False",
        "False",
        "False",
        "True",
        "0",
    ]


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    done = _run(["-c", SHOW], tmp_path, ALLOWED_HOSTS="billing.example.com")

    assert done.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false" in done.stderr


def test_deployment_checks_pass_with_production_settings(tmp_path):
    done = _run(["manage.py", "check", "--deploy"], tmp_path, **PRODUCTION)

    assert done.returncode == 0, done.stderr[-2000:]
    # Only the HSTS preload list, which a site joins by its own choice
    # (SECURE_HSTS_PRELOAD=true), remains to consider.
    assert re.findall(r"security\.[WE]\d+", done.stdout + done.stderr) == [
        "security.W021"
    ]
