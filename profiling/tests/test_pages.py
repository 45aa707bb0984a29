import pytest
from django.urls import reverse

from profiling import charts
from profiling.models import CustomerProfile, Segment
from profiling.tasks import profile_organization
from profiling.tests.conftest import NOW

pytestmark = pytest.mark.django_db


def test_run_list_and_detail_pages(staff_client, profiled):
    page = staff_client.get(reverse("staff:profiling-runs"))
    assert page.status_code == 200
    assert f">{profiled.pk}<" in page.content.decode()
    detail = staff_client.get(reverse("staff:profiling-run", args=[profiled.pk]))
    assert detail.status_code == 200
    assert "plotly/plotly.min.js" in detail.content.decode()


def test_segment_page_shows_heatmap_and_members(staff_client, profiled):
    segment = Segment.objects.filter(run=profiled).first()
    page = staff_client.get(reverse("staff:profiling-segment", args=[segment.pk]))
    assert page.status_code == 200
    assert segment.name in page.content.decode()


def test_customer_profile_page(staff_client, profiled):
    profile = CustomerProfile.objects.filter(run=profiled).first()
    page = staff_client.get(
        reverse("staff:profiling-customer", args=[profile.customer_id])
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert profile.segment.name in body
    assert profile.next_operations[0]["operation"] in body


def test_staff_pages_require_staff(client, profiled):
    response = client.get(reverse("staff:profiling-runs"))
    assert response.status_code == 302


def test_admin_changelists_bounded_queries(
    staff_client, profiled, django_assert_max_num_queries
):
    for name in [
        "profilingrun",
        "segment",
        "behavioraltag",
        "tagrule",
        "customerprofile",
    ]:
        with django_assert_max_num_queries(12):
            response = staff_client.get(reverse(f"admin:profiling_{name}_changelist"))
        assert response.status_code == 200


def test_projection_figure_has_one_trace_per_segment():
    figure = charts.segment_projection_figure(
        [
            charts.ProjectedCustomer("a", "S1", 0.0, 1.0),
            charts.ProjectedCustomer("b", "S2", 2.0, 3.0),
            charts.ProjectedCustomer("c", "S1", 4.0, 5.0),
        ]
    )
    assert [t.name for t in figure.data] == ["S1", "S2"]
    assert list(figure.data[0].x) == [0.0, 4.0]
    assert figure.layout.title.text == "Customers by segment (PCA projection)"


def test_heatmap_figure_axes():
    figure = charts.transition_heatmap_figure(["a", "b"], [[0.1, 0.9], [1, 0]], "T")
    assert list(figure.data[0].x) == ["a", "b"]
    assert list(figure.data[0].z[0]) == [0.1, 0.9]


def test_profile_task_runs_the_chord_eagerly(organization, stored_usage):
    run_id = profile_organization.delay(organization.pk, NOW.isoformat()).get()
    from profiling.models import ProfilingRun

    run = ProfilingRun.objects.get(pk=run_id)
    assert run.status == ProfilingRun.Status.SUCCEEDED
    assert run.customer_count == 40


def test_run_page_reports_how_segments_were_chosen(staff_client, profiled):
    scores = profiled.scores
    content = staff_client.get(
        reverse("staff:profiling-run", args=[profiled.pk])
    ).content.decode()

    best = max(scores["silhouettes_by_k"], key=scores["silhouettes_by_k"].get)
    assert (scores["asked"], scores["algorithm"], str(scores["k"])) == (
        "auto",
        "kmeans",
        best,
    )
    assert (
        f"<tr><td>{best}</td><td>{scores['silhouettes_by_k'][best]:.3f}</td></tr>"
        in content
    )
    assert (
        "Kept: <strong>kmeans</strong>, the higher mean silhouette (K-Means' at its "
        "best k, before the split tests)." in content
    )
    assert scores["fitted_customers"] + scores["placed_customers"] == 40
    assert (
        f"Segments were found among the {scores['fitted_customers']}\n       customers"
        in content
    )
    assert (
        "No segment was tested: none was large enough, or k was at its maximum."
        in content
    )
    blocks = {block["block"]: block for block in scores["blocks"]}
    assert set(blocks) == {
        "mix",
        "sequences",
        "hours",
        "weekdays",
        "rates",
        "rhythm",
    }
    assert sum(block["weight_share"] for block in blocks.values()) == pytest.approx(
        1, abs=0.005
    )
    # The planted segments differ by operation family: the mix tells them apart.
    assert blocks["mix"]["reliability"] > 0.5
    assert "<td>mix</td><td>12</td>" in content


def test_run_page_lists_the_split_tests_and_the_placed_customers(
    staff_client, profiled
):
    profiled.scores = {
        **profiled.scores,
        "kmeans_k": 5,
        "fitted_customers": 30,
        "placed_customers": 10,
        "splits": [
            {
                "neighbours": False,
                "size": 400,
                "spread_left": 0.385,
                "gaussian_spread_left": 0.593,
                "z": 11.7,
                "two_groups": True,
            },
            {
                "neighbours": True,
                "size": 250,
                "spread_left": 0.622,
                "gaussian_spread_left": 0.625,
                "z": 0.2,
                "two_groups": False,
            },
        ],
    }
    profiled.save(update_fields=["scores"])

    content = staff_client.get(
        reverse("staff:profiling-run", args=[profiled.pk])
    ).content.decode()

    assert "K-Means segments after the tests: <strong>5</strong>." in content
    assert (
        "<tr><td>a segment</td><td>400</td><td>0.385</td><td>0.593</td><td>11.7</td>"
        "<td>yes: split</td></tr>" in content
    )
    assert (
        "<tr><td>two neighbours</td><td>250</td><td>0.622</td><td>0.625</td>"
        "<td>0.2</td><td>no: merged</td></tr>" in content
    )
    assert "Segments were found among the 30\n       customers" in content
    assert "The other 10\n       (seen for less, or without events)" in content
