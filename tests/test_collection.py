import gc

import pytest

from billing_site.collection import without_cycle_collection
from metering.services import ingest
from metering.tests.factories import CustomerFactory


def test_collector_is_paused_inside_and_restored_after():
    assert gc.isenabled()
    with without_cycle_collection():
        assert not gc.isenabled()
        with without_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_is_restored_after_an_error():
    with pytest.raises(RuntimeError), without_cycle_collection():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused():
    gc.disable()
    try:
        with without_cycle_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_batch_endpoint_pauses_the_collector_while_ingesting(
    api_client, organization, monkeypatch
):
    CustomerFactory(organization=organization, external_id="cus_1")
    seen = []
    real = ingest._ingest

    def spy(**kwargs):
        seen.append(gc.isenabled())
        return real(**kwargs)

    monkeypatch.setattr(ingest, "_ingest", spy)
    response = api_client.post(
        "/api/v1/events/batch/",
        {
            "events": [
                {
                    "event_id": "e1",
                    "customer_id": "cus_1",
                    "operation": "image.resize",
                    "occurred_at": "2026-01-01T00:00:00Z",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert seen == [False]
    assert gc.isenabled()
