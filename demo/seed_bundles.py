"""Demo bundles: operation list prices, bundle templates and a run of offers.

Template lines are limited to the operations the organization knows, and their
included quantities are sized to what profiled customers are predicted to use (the
80th percentile among users, rounded down to a round number), so the offers fit the
demo's volumes. Without a successful profiling run the offers are left for later
(``manage.py create_bundles demo`` once ``run_profiler`` has run). The portal login
gets at least an upgrade offer for its most used operation.
"""

from decimal import Decimal

from django.utils import timezone

from bundles import selectors, services
from bundles.models import BundleTemplate, PersonalizedBundle
from metering.models import Operation

# Operation code -> list price per unit (the demo catalogue and the synthetic one).
PRICES = {
    "image.resize": "0.02",
    "image.convert": "0.015",
    "image.thumbnail": "0.01",
    "image.crop": "0.015",
    "video.encode": "0.12",
    "video.thumbnail": "0.02",
    "pdf.render": "0.03",
    "pdf.merge": "0.05",
    "ocr.extract": "0.04",
    "storage.upload": "0.08",
    "storage.download": "0.05",
    "api.search": "0.002",
    "ai.tag": "0.06",
    "export.csv": "0.05",
    "export.pdf": "0.08",
    "export.xlsx": "0.06",
    "data.query": "0.004",
    "data.ingest": "0.01",
    "data.transform": "0.02",
    "ml.predict": "0.03",
    "ml.train": "0.90",
    "ml.embed": "0.01",
}

# name -> (description, operations, discount percent, validity, tags, segments)
TEMPLATES = {
    "Image Processing Suite": (
        "Resizing, conversion, cropping and thumbnails for image-heavy work.",
        ["image.resize", "image.convert", "image.crop", "image.thumbnail"],
        "20",
        "month",
        ["heavy:image.*"],
        ["Image*"],
    ),
    "Data Export Package": (
        "Exports and rendered documents, for teams that move data out every day.",
        ["export.csv", "export.pdf", "export.xlsx", "pdf.render", "storage.download"],
        "15",
        "month",
        ["export-power-user", "heavy:export.*", "heavy:pdf.*"],
        ["Export*"],
    ),
    "Data Pipeline Pack": (
        "Ingestion, queries and transforms for nightly data pipelines.",
        ["data.ingest", "data.query", "data.transform"],
        "20",
        "month",
        ["heavy:data.*", "night-owl"],
        ["Data*"],
    ),
    "Video Week": (
        "A week of encoding and posters for video launches.",
        ["video.encode", "video.thumbnail"],
        "15",
        "week",
        ["heavy:video.*", "bursty"],
        ["Video*"],
    ),
    "ML Builder": (
        "Predictions, embeddings and auto-tagging for ML-driven products.",
        ["ml.predict", "ml.embed", "ai.tag"],
        "18",
        "month",
        ["heavy:ml.*", "heavy:ai.*", "growing"],
        ["Ml*", "ML*"],
    ),
}


def _round_down(quantity: Decimal) -> Decimal:
    """Down to 1, 2 or 5 times a power of ten (12 -> 10, 130 -> 100, 4 -> 2)."""
    if quantity < 2:
        return Decimal(1)
    power = 10 ** (len(str(int(quantity))) - 1)
    for step in (5, 2, 1):
        if quantity >= step * power:
            return Decimal(step * power)
    return Decimal(power)


def _typical_use(signals, validity_seconds: int) -> dict[str, Decimal]:
    """Operation -> 80th percentile of predicted use among customers who use it
    (the heavy users a template is meant for)."""
    uses: dict[str, list[Decimal]] = {}
    for customer_signals in signals.values():
        scale = Decimal(validity_seconds) / Decimal(customer_signals.horizon_seconds)
        for operation, count in customer_signals.predicted_counts.items():
            uses.setdefault(operation, []).append(count * scale)
    return {
        operation: sorted(values)[(len(values) * 4) // 5]
        for operation, values in uses.items()
    }


def seed(*, context: dict, progress) -> None:
    organization = context["organization"]
    known = set(
        Operation.objects.filter(organization=organization).values_list(
            "code", flat=True
        )
    )
    signals = selectors.customer_signals(organization=organization)
    for profile in signals.values():
        known.update(profile.predicted_counts)
    for operation, price in progress(PRICES.items(), desc="operation prices"):
        if not known or operation in known:
            services.operation_price_set(
                organization=organization,
                operation=operation,
                unit_price=Decimal(price),
            )

    settings = services.bundle_settings_ensure(organization=organization)
    now = timezone.now()
    for name, (
        description,
        operations,
        discount,
        validity,
        tags,
        segments,
    ) in TEMPLATES.items():
        lines = [op for op in operations if not known or op in known]
        if not lines:
            continue
        window = selectors.validity_window(
            validity=validity,
            now=now,
            timezone=organization.timezone,
            session_minutes=settings.session_minutes,
        )
        typical = _typical_use(signals, window.seconds)
        template = BundleTemplate.objects.filter(
            organization=organization, name=name
        ).first()
        services.bundle_template_save(
            organization=organization,
            template=template,
            name=name,
            description=description,
            discount_percent=Decimal(discount),
            validity=validity,
            target_tags=[{"name": tag, "weight": "1"} for tag in tags],
            target_segments=[{"name": segment, "weight": "1"} for segment in segments],
            operations=[
                services.TemplateOperationInput(
                    op, _round_down(typical.get(op, Decimal(50)))
                )
                for op in lines
            ],
        )

    if not signals:
        return
    services.personalized_bundles_create(
        organization=organization, now=now, progress=progress
    )
    portal_customer = context["customers"][0]
    has_offer = PersonalizedBundle.objects.filter(
        customer=portal_customer, valid_until__gt=now
    ).exists()
    portal_signals = signals.get(portal_customer.pk)
    if has_offer or portal_signals is None:
        return
    # The portal login sees at least an upgrade offer for its most used operation.
    for operation, _ in sorted(
        portal_signals.predicted_counts.items(), key=lambda item: -item[1]
    ):
        if services.bundle_upgrade_offer(
            customer=portal_customer, operation=operation, now=now
        ):
            break
