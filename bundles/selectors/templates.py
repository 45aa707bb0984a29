"""Reads on bundle templates and their engine specs."""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404

from billing_site.ids import ascii_id
from bundles import engine
from bundles.models import BundleTemplate
from bundles.selectors.validity import template_window
from metering.models import Organization


def template_list(*, organization: Organization) -> QuerySet[BundleTemplate]:
    return BundleTemplate.objects.filter(organization=organization).prefetch_related(
        "operations"
    )


def template_get(*, organization: Organization, pk) -> BundleTemplate:
    number = ascii_id(pk)
    if number is None:
        raise Http404(f"No bundle template {pk!r}")
    template = template_list(organization=organization).filter(pk=number).first()
    if template is None:
        raise Http404(f"No bundle template {pk!r}")
    return template


def _weights(entries) -> dict[str, Decimal]:
    return {entry["name"]: Decimal(str(entry["weight"])) for entry in entries or []}


def template_spec(
    *,
    template: BundleTemplate,
    now: dt.datetime,
    session_minutes: int,
    lines: Sequence[tuple[str, Decimal | None]] | None = None,
) -> engine.TemplateSpec:
    """The engine's view of a template. ``lines`` ((operation, included quantity)
    pairs) stand in for its saved operation lines, e.g. for an unsaved edit."""
    window = template_window(
        template=template, now=now, session_minutes=session_minutes
    )
    if lines is None:
        lines = [
            (line.operation, line.included_quantity)
            for line in template.operations.all()
        ]
    return engine.TemplateSpec(
        key=template.pk or 0,
        name=template.name,
        lines=tuple(
            engine.TemplateLine(operation, included) for operation, included in lines
        ),
        discount_percent=template.discount_percent,
        fixed_price=template.fixed_price,
        validity=template.validity,
        validity_seconds=window.seconds,
        target_tags=_weights(template.target_tags),
        target_segments=_weights(template.target_segments),
    )


def active_template_specs(
    *, organization: Organization, now: dt.datetime, session_minutes: int
) -> list[engine.TemplateSpec]:
    templates = template_list(organization=organization).filter(is_active=True)
    return [
        template_spec(template=t, now=now, session_minutes=session_minutes)
        for t in templates.select_related("organization")
    ]
