"""Tag rules: the defaults every organization starts with."""

from decimal import Decimal

from metering.models import Organization
from profiling.models import TagRule

DEFAULT_RULES = [
    ("heavy:{family}.*", TagRule.Kind.FAMILY_SHARE, "", "0.400"),
    ("export-power-user", TagRule.Kind.OPERATION_SHARE, "export.*", "0.500"),
    ("night-owl", TagRule.Kind.NIGHT_SHARE, "", "0.400"),
    ("bursty", TagRule.Kind.BURSTINESS, "", "0.500"),
    ("growing", TagRule.Kind.TREND, "", "0.200"),
    ("unusual", TagRule.Kind.UNUSUAL, "", "1.000"),
]


def tag_rules_ensure_defaults(*, organization: Organization) -> int:
    """Create the default tag rules an organization lacks (by name); returns count."""
    existing = set(
        TagRule.objects.filter(organization=organization).values_list("name", flat=True)
    )
    missing = [
        TagRule(
            organization=organization,
            name=name,
            kind=kind,
            pattern=pattern,
            threshold=Decimal(threshold),
        )
        for name, kind, pattern, threshold in DEFAULT_RULES
        if name not in existing
    ]
    TagRule.objects.bulk_create(missing)
    return len(missing)
