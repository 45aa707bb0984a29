"""Instrumentation client a product embeds to report its operations as usage events.

Standard library only (no Django), so any Python product can vendor this file::

    from metering.client import UsageClient, metered

    usage = UsageClient("https://billing.example.com", api_key="bk_...")

    usage.log_operation("cus_42", "image.resize", quantity=1, width=640)

    @metered("image.resize", client=usage)
    def execute_operation(parameters, *, customer):
        ...

``log_operation`` only appends to an in-memory buffer; a background thread sends
batches to ``POST /api/v1/events/batch/``. Every event gets its ``event_id`` when it
is logged, and a failed send (connection error, timeout, 429 or 5xx) is retried with
the same ids, so the server stores each event once even when a response is lost
after the server committed. Events the server rejects are kept in
``client.rejected`` and logged, never retried. ``flush()`` waits for everything
logged so far; ``close()`` (also run at interpreter exit) flushes and stops.
"""

import atexit
import contextvars
import functools
import http.client
import inspect
import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

BATCH_PATH = "/api/v1/events/batch/"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

# The customer (and end user) on whose behalf the current code runs; set by the
# product around a request so that @metered functions need no extra arguments.
current_customer: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "metering_current_customer", default=None
)
current_user: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "metering_current_user", default=None
)


class _Flush:
    """A marker in the queue: set once everything queued before it was sent."""

    def __init__(self) -> None:
        self.done = threading.Event()


class UsageClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        timeout: float = 30.0,
        max_retries: int | None = None,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_buffer: int = 100_000,
        process_id: str | None = None,
    ) -> None:
        """``max_retries=None`` retries a batch until it is delivered (or until
        ``close()`` gives up after its timeout); a number drops the batch after that
        many failed attempts and keeps it in ``client.undelivered``."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Not an http(s) URL: {base_url!r}")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._api_key = api_key
        self.batch_size = min(batch_size, 10_000)
        self.flush_interval = flush_interval
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.process_id = process_id
        self.rejected: list[dict] = []  # {"event": ..., "errors": ...}
        self.undelivered: list[dict] = []
        self.sent_batches = 0
        self.attempts = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max_buffer)
        self._closing = threading.Event()
        self._connection: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(
            target=self._run, name="usage-client", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    # Logging ------------------------------------------------------------------

    def log_operation(
        self,
        customer: str | None,
        operation: str,
        quantity: int | str | Decimal = 1,
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
        user_id: str | None = None,
        data_volume_bytes: int | None = None,
        process_id: str | None = None,
        context: str | None = None,
        **properties,
    ) -> str:
        """Queue one event and return its ``event_id``; never blocks on the network.

        ``customer`` is the customer's external id (``None``: the one set in
        ``current_customer``); extra keyword arguments become ``properties``.
        """
        customer = customer or current_customer.get()
        if not customer:
            raise ValueError("No customer given and none set in current_customer")
        if self._closing.is_set():
            raise RuntimeError("UsageClient is closed")
        event = {
            "event_id": event_id or uuid.uuid4().hex,
            "customer_id": customer,
            "operation": operation,
            "quantity": str(quantity),
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        }
        user_id = user_id or current_user.get()
        process_id = process_id or self.process_id
        for name, value in (
            ("user_id", user_id),
            ("data_volume_bytes", data_volume_bytes),
            ("process_id", process_id),
            ("context", context),
        ):
            if value is not None:
                event[name] = value
        if properties:
            event["properties"] = properties
        self._queue.put(event)
        return event["event_id"]

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event logged before this call was delivered (or given
        up on); ``False`` on timeout."""
        if not self._thread.is_alive():
            return self._queue.empty()
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then stop the sender thread. Safe to call twice."""
        if self._closing.is_set():
            return
        self.flush(timeout)
        self._closing.set()
        self._queue.put(None)
        self._thread.join(timeout)
        atexit.unregister(self.close)

    # Sending ------------------------------------------------------------------

    def _run(self) -> None:
        batch: list[dict] = []
        markers: list[_Flush] = []
        deadline = None
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = _Flush()  # the interval elapsed: send what is buffered
            stop = item is None
            if isinstance(item, _Flush):
                markers.append(item)
            elif item is not None:
                batch.append(item)
                if deadline is None:
                    deadline = time.monotonic() + self.flush_interval
            if batch and (len(batch) >= self.batch_size or markers or stop):
                self._deliver(batch)
                batch, deadline = [], None
            for marker in markers:
                marker.done.set()
            markers = []
            if stop:
                self._disconnect()
                return

    def _deliver(self, batch: list[dict]) -> None:
        body = json.dumps({"events": batch}).encode()
        failures = 0
        while True:
            self.attempts += 1
            try:
                status, payload = self._post(body)
            except (OSError, http.client.HTTPException) as error:
                status, payload = None, repr(error)
                self._disconnect()
            if status is not None and status < 300:
                self.sent_batches += 1
                self._note_rejections(batch, payload)
                return
            if status is not None and status not in RETRY_STATUSES:
                logger.error("usage batch refused with HTTP %s: %s", status, payload)
                self.undelivered.extend(batch)
                return
            failures += 1
            if (self.max_retries is not None and failures > self.max_retries) or (
                self._closing.is_set() and failures > 3
            ):
                logger.error("usage batch undelivered after %s attempts", failures)
                self.undelivered.extend(batch)
                return
            delay = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
            logger.warning("usage batch failed (%s); retry in %.1fs", payload, delay)
            time.sleep(delay)

    def _note_rejections(self, batch: list[dict], payload) -> None:
        try:
            results = json.loads(payload)["results"]
        except (ValueError, KeyError, TypeError):
            return
        for result in results:
            if result["status"] in ("rejected", "conflict"):
                event = batch[result["index"]]
                self.rejected.append({"event": event, "errors": result.get("errors")})
                logger.error("usage event %s %s", result["status"], result)

    def _post(self, body: bytes) -> tuple[int, str]:
        if self._connection is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            self._connection = cls(self._host, self._port, timeout=self.timeout)
        self._connection.request(
            "POST",
            self._prefix + BATCH_PATH,
            body=body,
            headers={
                "Authorization": f"Api-Key {self._api_key}",
                "Content-Type": "application/json",
            },
        )
        response = self._connection.getresponse()
        payload = response.read().decode("utf-8", errors="replace")
        if response.will_close:
            self._disconnect()
        return response.status, payload

    def _disconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except OSError:
                pass
            self._connection = None


def default_process_id() -> str:
    """``host:pid``, for products that want each process's events told apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


def metered(
    operation: str,
    *,
    client: UsageClient | Callable[[], UsageClient],
    customer: str | Callable[..., str] | None = None,
    quantity: int | str | Decimal | Callable[..., int | str | Decimal] = 1,
    properties: bool = True,
):
    """Decorate a function so that each successful call logs one ``operation`` event.

    ``customer`` is an external id, a callable receiving the function's arguments,
    or ``None`` to use ``current_customer`` (or a ``customer`` keyword argument of
    the function). ``quantity`` may likewise be computed from the arguments. With
    ``properties=True`` the call's JSON-friendly arguments become the event's
    properties. A call that raises logs nothing.
    """

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            who = customer(*args, **kwargs) if callable(customer) else customer
            who = who or arguments.get("customer") or current_customer.get()
            amount = quantity(*args, **kwargs) if callable(quantity) else quantity
            extra = _json_friendly(arguments) if properties else {}
            extra.pop("customer", None)
            target = client() if callable(client) else client
            target.log_operation(who, operation, amount, **extra)
            return result

        return wrapper

    return decorate


def _json_friendly(arguments: dict) -> dict:
    friendly = {}
    for name, value in arguments.items():
        if isinstance(value, dict) and name in ("parameters", "params", "kwargs"):
            friendly.update(
                {k: v for k, v in value.items() if _is_plain(v) and k not in _RESERVED}
            )
        elif _is_plain(value) and name not in _RESERVED:
            friendly[name] = value
    return friendly


_RESERVED = frozenset(inspect.signature(UsageClient.log_operation).parameters)


def _is_plain(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
