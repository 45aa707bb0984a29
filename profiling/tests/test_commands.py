from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from metering.models import Organization, UsageEvent
from profiling.models import ProfilingRun
from profiling.tests.test_msnbc import ARCHIVE

pytestmark = pytest.mark.django_db


def _call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.skipif(not ARCHIVE.exists(), reason="msnbc archive not available")
def test_load_msnbc_then_profile_and_evaluate_through_events():
    output = _call("load_msnbc", "--limit", "300", "--path", str(ARCHIVE))
    organization = Organization.objects.get(slug="msnbc-bench")
    stored = UsageEvent.objects.filter(organization=organization).count()
    assert f"{stored} events stored in 'msnbc-bench'" in output
    assert organization.customers.count() == 300

    output = _call("run_profiler", "msnbc-bench", "--k-max", "4")
    run = ProfilingRun.objects.get(organization=organization)
    assert run.status == ProfilingRun.Status.SUCCEEDED
    assert f"Run {run.pk}: 300 customers, {stored} events" in output

    output = _call("evaluate_profiler", "msnbc-bench")
    assert "held-out transitions" in output
    assert "most frequent" in output
    assert "adjusted Rand index vs planted segments: unknown" in output


def test_run_profiler_rejects_unknown_organization():
    with pytest.raises(CommandError, match="No organization 'nope'"):
        _call("run_profiler", "nope")


def test_evaluate_profiler_planted_prints_each_scenario_against_its_goals():
    output = _call("evaluate_profiler", "--planted", "--customers", "60").splitlines()

    assert output[0].startswith("scenario")
    assert [line[:40].strip() for line in output[1:]] == [
        "(a) same mix, different transitions",
        "(b) different operation mixes",
        "(c) different hours and burstiness only",
        "(d) (a)-(c) together, 10% noise customer",
    ]
    assert all(line.rstrip().endswith(("yes", "NO")) for line in output[1:])


def test_evaluate_profiler_needs_an_organization_or_planted():
    with pytest.raises(CommandError, match="Name an organization, or use --planted"):
        _call("evaluate_profiler")
