"""Ingestion under concurrency and broken connections, through a real HTTP server."""

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import orjson
import pytest
import requests
from django.db import connection
from django.db.models import Sum

from metering.client import UsageClient
from metering.models import (
    UsageCounter,
    UsageCounterIncrement,
    UsageCounterTotal,
    UsageEvent,
    UsageEventKey,
)
from metering.services import api_key_create, usage_counters_fold
from metering.tests.factories import CustomerFactory, OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def occurred(clock_start):
    """When the events of a test occurred: two minutes before it started."""
    return clock_start - timedelta(minutes=2)


@pytest.fixture
def tenant():
    organization = OrganizationFactory()
    customers = [
        CustomerFactory(organization=organization, external_id=f"cus_{n}")
        for n in range(5)
    ]
    return organization, customers, api_key_create(organization=organization).raw_key


def totals(organization) -> tuple[int, int, Decimal]:
    counters = UsageCounterTotal.objects.filter(organization=organization).aggregate(
        events=Sum("event_count"), quantity=Sum("quantity")
    )
    return (
        UsageEvent.objects.filter(organization=organization).count(),
        counters["events"] or 0,
        counters["quantity"] or Decimal(0),
    )


def test_same_batch_sent_three_times_concurrently_is_stored_once(
    live_server, tenant, occurred
):
    organization, _, raw_key = tenant
    events = [
        {
            "event_id": f"evt-{n}",
            "customer_id": f"cus_{n % 5}",
            "operation": "image.resize",
            "quantity": "2",
            "occurred_at": occurred.isoformat(),
        }
        for n in range(500)
    ]
    body = orjson.dumps({"events": events})
    barrier = threading.Barrier(3)

    def send(_):
        barrier.wait()
        return requests.post(
            f"{live_server.url}/api/v1/events/batch/",
            data=body,
            headers={"Authorization": f"Api-Key {raw_key}"},
            timeout=60,
        ).json()

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(send, range(3)))
    assert sum(a["accepted"] for a in answers) == 500
    assert sum(a["duplicates"] for a in answers) == 1000
    assert sum(a["conflicts"] + a["rejected"] for a in answers) == 0
    assert totals(organization) == (500, 500, Decimal("1000"))


def test_eight_concurrent_clients_store_exactly_what_they_sent(
    live_server, tenant, occurred
):
    organization, _, raw_key = tenant
    clients = [
        UsageClient(live_server.url, raw_key, batch_size=250, flush_interval=0.05)
        for _ in range(8)
    ]

    def produce(number: int) -> None:
        client = clients[number]
        for n in range(2_000):
            client.log_operation(
                f"cus_{n % 5}",
                "video.encode" if n % 2 else "image.resize",
                quantity=(n % 3) + 1,
                event_id=f"c{number}-{n}",
                occurred_at=occurred,
                width=n,
            )
        assert client.flush(timeout=120)

    # Counter increments are folded into the counters all along, as the beat task
    # does every minute: no increment may be lost or added twice.
    sending = threading.Event()
    sending.set()
    folds = []

    def fold_while_sending() -> None:
        try:
            while sending.is_set():
                folds.append(usage_counters_fold())
        finally:
            connection.close()

    folder = threading.Thread(target=fold_while_sending)
    folder.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(produce, range(8)))
    sending.clear()
    folder.join()
    for client in clients:
        client.close()
        assert client.rejected == [] and client.undelivered == []
    assert sum(folds) > 0
    # Per client: 2,000 events with quantities 1, 2, 3 cycling (667 + 667*2 + 666*3).
    assert totals(organization) == (16_000, 16_000, Decimal(8 * 3_999))
    assert UsageEventKey.objects.filter(organization=organization).count() == 16_000
    usage_counters_fold()
    assert not UsageCounterIncrement.objects.exists()
    folded = UsageCounter.objects.filter(organization=organization).aggregate(
        events=Sum("event_count"), quantity=Sum("quantity")
    )
    assert (folded["events"], folded["quantity"]) == (16_000, Decimal(8 * 3_999))


class FaultyProxy:
    """A TCP proxy in front of the live server, one request per connection.

    ``faults`` lists what happens to successive requests: "drop-response" forwards
    the whole request, waits for the server's full answer (the batch is committed)
    and then closes the client's connection without answering; "cut-request"
    forwards half of the request body and closes both sides; anything else passes.
    """

    def __init__(self, upstream: str, faults: list[str]) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.faults = list(faults)
        self.seen: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    @staticmethod
    def _read_message(sock: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def _handle(self, client: socket.socket) -> None:
        fault = self.faults.pop(0) if self.faults else "pass"
        self.seen.append(fault)
        with client, socket.create_connection(self.upstream) as upstream:
            request = self._read_message(client)
            if fault == "cut-request":
                head, _, body = request.partition(b"\r\n\r\n")
                upstream.sendall(head + b"\r\n\r\n" + body[: len(body) // 2])
                return
            upstream.sendall(request)
            response = self._read_message(upstream)
            if fault == "drop-response":
                return
            head, _, body = response.partition(b"\r\n\r\n")
            client.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)


def test_client_retries_broken_connections_without_loss_or_duplicate(
    live_server, tenant
):
    organization, _, raw_key = tenant
    proxy = FaultyProxy(
        live_server.url,
        ["drop-response", "cut-request", "pass", "drop-response", "pass"],
    )
    client = UsageClient(
        proxy.url, raw_key, batch_size=100, flush_interval=0.05, backoff=0.01
    )
    try:
        for n in range(200):
            client.log_operation(
                f"cus_{n % 5}", "image.resize", quantity=1, event_id=f"e{n}"
            )
            if n == 99:
                assert client.flush(timeout=60)
        assert client.flush(timeout=60)
    finally:
        client.close()
        proxy.close()
    # Batch 1: dropped answer, cut request, then delivered (all duplicates);
    # batch 2: dropped answer, then delivered (all duplicates).
    assert proxy.seen == [
        "drop-response",
        "cut-request",
        "pass",
        "drop-response",
        "pass",
    ]
    assert client.attempts == 5
    assert client.undelivered == [] and client.rejected == []
    assert totals(organization) == (200, 200, Decimal("200"))


def test_bad_inputs_over_http_are_4xx_and_store_nothing(live_server, tenant, occurred):
    organization, _, raw_key = tenant
    headers = {"Authorization": f"Api-Key {raw_key}"}
    good = {
        "event_id": "e1",
        "customer_id": "cus_1",
        "operation": "image.resize",
        "occurred_at": occurred.isoformat(),
    }
    cases = [
        ("/api/v1/events/", {**good, "quantity": "NaN"}, "quantity"),
        ("/api/v1/events/", {**good, "quantity": -3}, "quantity"),
        ("/api/v1/events/", {**good, "quantity": "1e13"}, "quantity"),
        ("/api/v1/events/", {**good, "occurred_at": "2026-01-01"}, "occurred_at"),
        ("/api/v1/events/", {**good, "customer_id": "nobody"}, "customer_id"),
        ("/api/v1/events/", {**good, "event_id": "x" * 200}, "event_id"),
        ("/api/v1/events/batch/", {"events": "all"}, "events"),
        ("/api/v1/events/batch/", {"events": [good] * 10_001}, "events"),
    ]
    for path, body, field in cases:
        response = requests.post(
            f"{live_server.url}{path}", json=body, headers=headers, timeout=60
        )
        assert response.status_code == 400, (body, response.text)
        assert list(response.json()["errors"]) == [field]
    assert totals(organization) == (0, 0, Decimal(0))
    assert not UsageEventKey.objects.filter(organization=organization).exists()
