"""Operations declare their metric: how a billing period's events add up."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from metering.models import Operation
from metering.tests.factories import OperationFactory

pytestmark = pytest.mark.django_db

Aggregation = Operation.Aggregation


def test_a_unique_count_needs_a_property_and_only_it_names_one(organization):
    operation = Operation(
        organization=organization,
        code="seats",
        name="Seats",
        aggregation=Aggregation.UNIQUE_COUNT,
    )
    with pytest.raises(ValidationError) as error:
        operation.full_clean()
    assert error.value.message_dict == {
        "aggregation_property": [
            "A unique count needs the event property whose distinct values it "
            "counts, e.g. user_id."
        ]
    }
    operation.aggregation = Aggregation.MAX
    operation.aggregation_property = "user_id"
    with pytest.raises(ValidationError) as error:
        operation.full_clean()
    assert error.value.message_dict == {
        "aggregation_property": [
            "Only a unique count names an event property; leave it blank for "
            "largest quantity."
        ]
    }
    operation.aggregation = Aggregation.UNIQUE_COUNT
    operation.full_clean()


def test_the_database_refuses_a_unique_count_without_a_property(organization):
    operation = OperationFactory(organization=organization, code="seats")
    with pytest.raises(IntegrityError):
        Operation.objects.filter(pk=operation.pk).update(
            aggregation=Aggregation.UNIQUE_COUNT
        )


def test_the_database_knows_every_aggregation(organization):
    for aggregation in Aggregation.values:
        OperationFactory(
            organization=organization,
            code=aggregation,
            aggregation=aggregation,
            aggregation_property="user_id" if aggregation == "unique_count" else "",
        )
    with pytest.raises(IntegrityError):
        OperationFactory(organization=organization, code="x", aggregation="median")
