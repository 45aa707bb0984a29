"""Domain errors raised by services; the API maps them to 400 responses (409 for
a conflict with the current state)."""


class DomainError(Exception):
    """A business rule refused the request; ``field`` names what to fix."""

    def __init__(self, message: str, field: str = "non_field_errors"):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(DomainError):
    """An object's current state does not allow the requested change."""


class Conflict(DomainError):
    """The request lost a race or clashes with a record another request wrote."""
