"""Fixtures for cross-process tests: a real Celery worker on the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """A DATABASE_URL pointing at the test database pytest-django created."""
    conf = connection.settings_dict
    user = conf.get("USER") or ""
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host = conf.get("HOST") or "localhost"
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{conf['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db):
    """Start ``celery worker`` against the test database and the real broker."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        pytest.fail("CELERY_BROKER_URL must point at Redis (run through make test)")
    from billing_site.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CONN_MAX_AGE": "0",
    }
    hostname = f"test-worker-{os.getpid()}@localhost"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.clocked", timezone.now().isoformat(),
         "-m", "celery", "-A", "billing_site", "worker",
         "--pool=solo", "--loglevel=warning", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-n", hostname],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(destination=[hostname], timeout=0.5):
                break
            if worker.poll() is not None:
                pytest.fail(f"celery worker exited with {worker.returncode}")
        else:
            pytest.fail("celery worker did not answer a ping within 60 s")
        yield hostname
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
