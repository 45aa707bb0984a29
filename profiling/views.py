"""Staff pages: runs with scores, a segment with its projection, a customer profile."""

from django.shortcuts import get_object_or_404, render

from billing_site.chart_embed import figure_embed
from metering.models import Customer
from metering.staff import scoped_to_staff, staff_page
from profiling import charts, selectors
from profiling.models import ProfilingRun, Segment


@staff_page("profiling.view_profilingrun")
def run_list(request):
    runs = (
        scoped_to_staff(ProfilingRun.objects.all(), request.user)
        .select_related("organization")
        .defer("chains")[:100]
    )
    return render(
        request, "profiling/run_list.html", {"runs": runs, "title": "Profiling runs"}
    )


@staff_page("profiling.view_profilingrun")
def run_detail(request, run_id: int):
    run = get_object_or_404(
        scoped_to_staff(ProfilingRun.objects.defer("chains"), request.user),
        pk=run_id,
    )
    segments = Segment.objects.filter(run=run).order_by("label")
    points = [
        charts.ProjectedCustomer(
            p.customer.name, p.segment.name if p.segment else "—",
            p.projection_x, p.projection_y,
        )
        for p in selectors.run_profiles(run=run)
    ]  # fmt: skip
    return render(
        request,
        "profiling/run_detail.html",
        {
            "run": run,
            "segments": segments,
            "projection": figure_embed(charts.segment_projection_figure(points)),
            "title": f"Profiling run {run.pk}",
        },
    )


@staff_page("profiling.view_profilingrun")
def segment_detail(request, segment_id: int):
    segment = get_object_or_404(
        scoped_to_staff(Segment.objects.select_related("run"), request.user),
        pk=segment_id,
    )
    profiles = selectors.run_profiles(run=segment.run)
    points = [
        charts.ProjectedCustomer(
            p.customer.name, p.segment.name if p.segment else "—",
            p.projection_x, p.projection_y,
        )
        for p in profiles
    ]  # fmt: skip
    members = [p for p in profiles if p.segment_id == segment.pk][:200]
    heatmap = charts.transition_heatmap_figure(
        segment.run.operations, segment.transitions, f"Transitions of {segment.name}"
    )
    return render(
        request,
        "profiling/segment_detail.html",
        {
            "segment": segment,
            "members": members,
            "projection": figure_embed(charts.segment_projection_figure(points)),
            "heatmap": figure_embed(heatmap),
            "title": segment.name,
        },
    )


@staff_page("profiling.view_profilingrun")
def customer_profile(request, customer_id: int):
    customer = get_object_or_404(
        scoped_to_staff(Customer.objects.all(), request.user),
        pk=customer_id,
    )
    profile = selectors.profile_for_customer(customer=customer)
    tags = selectors.tags_for_customer(customer=customer)
    users = selectors.end_users_for_customer(customer=customer)
    heatmap = ""
    if profile is not None and profile.segment is not None:
        heatmap = figure_embed(
            charts.transition_heatmap_figure(
                profile.run.operations,
                profile.segment.transitions,
                f"Transitions of {profile.segment.name}",
            )
        )
    return render(
        request,
        "profiling/customer_profile.html",
        {
            "customer": customer,
            "profile": profile,
            "tags": tags,
            "end_users": users,
            "heatmap": heatmap,
            "title": f"Profile of {customer.name}",
        },
    )
