"""Writes on bundle templates: create, update with their operation lines, delete."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billing_site.errors import DomainError
from billing_site.transactions import conflict_on_unique
from bundles.models import BundleTemplate, BundleTemplateOperation
from metering.models import Organization


@dataclass(frozen=True)
class TemplateOperationInput:
    operation: str
    included_quantity: Decimal | None  # None: unlimited


@transaction.atomic
def bundle_template_save(
    *,
    organization: Organization,
    template: BundleTemplate | None = None,
    operations: Iterable[TemplateOperationInput] | None = None,
    **fields,
) -> BundleTemplate:
    """Create a template (``template`` None) or update one; ``operations`` replaces
    the operation lines when given."""
    if template is None:
        template = BundleTemplate(organization=organization)
    elif template.organization_id != organization.pk:
        raise DomainError("No such bundle template.", field="id")
    else:
        template = BundleTemplate.objects.select_for_update().get(pk=template.pk)
    for name, value in fields.items():
        setattr(template, name, value)
    duplicate = (
        BundleTemplate.objects.filter(organization=organization, name=template.name)
        .exclude(pk=template.pk)
        .exists()
    )
    if duplicate:
        raise DomainError(
            f"A bundle template named {template.name!r} already exists.", field="name"
        )
    template.full_clean(validate_constraints=False)
    with conflict_on_unique(
        "bundle_template_unique_name",
        f"A bundle template named {template.name!r} already exists.",
        field="name",
    ):
        template.save()
    if operations is not None:
        lines = list(operations)
        codes = [line.operation for line in lines]
        if len(set(codes)) != len(codes):
            raise DomainError("Each operation may appear once.", field="operations")
        template.operations.all().delete()
        rows = [
            BundleTemplateOperation(
                template=template,
                operation=line.operation,
                included_quantity=line.included_quantity,
            )
            for line in lines
        ]
        for row in rows:
            try:
                row.full_clean(exclude=["template"], validate_constraints=False)
            except ValidationError as error:
                raise DomainError(
                    "; ".join(error.messages), field="operations"
                ) from error
        BundleTemplateOperation.objects.bulk_create(rows)
    return template


@transaction.atomic
def bundle_template_delete(*, template: BundleTemplate) -> None:
    """Delete a template; offers made from it keep their lines and reasons."""
    template.delete()
