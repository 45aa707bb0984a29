"""The rule every signed webhook's settings follow, whichever app sends it."""

from django.core.exceptions import ValidationError

MIN_WEBHOOK_SECRET_BYTES = 32


def webhook_secret_check(*, url: str, secret: str) -> None:
    """A webhook URL needs a signing secret of at least 32 bytes (UTF-8): a shorter
    one can be guessed, and without one nobody can tell our calls from forgeries."""
    if url and len((secret or "").encode()) < MIN_WEBHOOK_SECRET_BYTES:
        raise ValidationError(
            {
                "webhook_secret": [
                    f"A webhook URL needs a secret of at least "
                    f"{MIN_WEBHOOK_SECRET_BYTES} bytes."
                ]
            }
        )
