"""Signatures of outbound webhooks in the Standard Webhooks scheme.

A secret is ``whsec_`` followed by the base64 of the signing key. Each request
carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256, keyed with the
secret's key, of ``{id}.{timestamp}.{body}``. Pure: no ORM, no clock.
"""

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 32
NEW_KEY_BYTES = 32


def secret_generate() -> str:
    """A new random secret of ``NEW_KEY_BYTES`` bytes of key."""
    key = secrets.token_bytes(NEW_KEY_BYTES)
    return SECRET_PREFIX + base64.b64encode(key).decode()


def secret_from_key(key: bytes) -> str:
    """The ``whsec_`` spelling of a raw signing key."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def secret_key(secret: str) -> bytes:
    """The signing key of a ``whsec_`` secret (ValueError when it is not one)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"A secret starts with {SECRET_PREFIX!r}.")
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("A secret's key is base64 after the prefix.") from error


def secret_key_problem(secret: str) -> str | None:
    """What is wrong with ``secret`` as a stored secret, or None."""
    if not secret:
        return "An endpoint needs a secret."
    try:
        key = secret_key(secret)
    except ValueError as error:
        return str(error)
    if len(key) < MIN_KEY_BYTES:
        return f"A secret's key is at least {MIN_KEY_BYTES} bytes."
    return None


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    *, secret: str, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers of one request."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    }


# Attempts a delivery makes before it is failed, and the wait before each retry.
MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 3600


def retry_delay_seconds(attempts: int) -> int | None:
    """Seconds to wait after the ``attempts``-th failed attempt: 30, doubling
    each time, at most an hour; None once ``MAX_ATTEMPTS`` were made."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), LONGEST_RETRY_SECONDS)


# How far a signed request's timestamp may be from the receiver's clock.
TOLERANCE_SECONDS = 300


def verify(
    *,
    secret: str,
    headers: dict[str, str],
    body: bytes,
    now_seconds: int,
    tolerance_seconds: int = TOLERANCE_SECONDS,
) -> None:
    """Check an inbound request signed in the Standard Webhooks scheme: its three
    headers (lower-case names), a timestamp within ``tolerance_seconds`` of
    ``now_seconds`` and one ``v1`` signature, of the several the header may
    list, equal in constant time to the body's. Raises ``ValueError`` naming
    what is wrong."""
    if secret_key_problem(secret):
        raise ValueError("Signed requests are not accepted: no secret is set.")
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    given = headers.get("webhook-signature", "")
    if not (message_id and stamp and given):
        raise ValueError(
            "The webhook-id, webhook-timestamp and webhook-signature headers "
            "are required."
        )
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise ValueError("webhook-timestamp is Unix seconds.")
    if abs(now_seconds - int(stamp)) > tolerance_seconds:
        raise ValueError(
            f"webhook-timestamp is more than {tolerance_seconds} seconds away."
        )
    expected = signature(
        secret=secret, message_id=message_id, timestamp=int(stamp), body=body
    ).encode()
    if not any(
        hmac.compare_digest(candidate.encode(), expected)
        for candidate in given.split(" ")
        if candidate.isascii()
    ):
        raise ValueError("webhook-signature does not match the body.")
