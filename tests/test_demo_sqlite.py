"""``make run``'s path: migrate and seed the demo on SQLite, then open every key
screen, the way a newcomer with no database server sees the product."""

import os
import subprocess
import sys

import pytest
from django.utils import timezone

from tests.conftest import ROOT


@pytest.mark.long
def test_demo_seeds_and_every_screen_answers_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "DJANGO_SETTINGS_MODULE": "billing_site.settings",
    }

    def manage(*args: str) -> str:
        # The demo is seeded relative to the test's clock, not the wall clock.
        done = subprocess.run(
            [sys.executable, "-m", "tests.clocked", timezone.now().isoformat(),
             "manage.py", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--no-input", "-v0")
    assert "Demo ready" in manage("seed_demo")
    # Seeding is idempotent: a second run succeeds and adds no customers.
    assert "Demo ready" in manage("seed_demo")

    pages = subprocess.run(
        [sys.executable, "-m", "tests.clocked", timezone.now().isoformat(),
         "-m", "tests.smoke_demo_pages"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert pages.returncode == 0, pages.stderr[-3000:]
    lines = pages.stdout.splitlines()
    assert len(lines) == 22
    failing = [line for line in lines if not line.startswith("200 ")]
    assert failing == []
