"""Facts about the current database transaction that Django does not expose."""

from contextlib import contextmanager

from django.db import IntegrityError, connection, transaction

from billing_site.errors import Conflict


def in_outermost_atomic() -> bool:
    """Inside exactly one ``transaction.atomic`` block, which began the transaction.

    False when an enclosing block (or a caller that switched autocommit off)
    owns the transaction: what this block sees may then include that caller's
    uncommitted work, and nothing commits when this block exits.
    """
    return len(connection.atomic_blocks) == 1 and connection.commit_on_exit


@contextmanager
def conflict_on_unique(constraint: str, message: str, *, field: str):
    """Writes inside run in a savepoint; when they break the unique constraint
    named ``constraint`` (a concurrent request wrote the same key after this one
    checked), the savepoint is rolled back and a ``Conflict`` (409) raised."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        diag = getattr(error.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) != constraint:
            raise
        raise Conflict(message, field=field) from error
