"""Facts about the current database transaction that Django does not expose."""

from django.db import connection


def in_outermost_atomic() -> bool:
    """Inside exactly one ``transaction.atomic`` block, which began the transaction.

    False when an enclosing block (or a caller that switched autocommit off)
    owns the transaction: what this block sees may then include that caller's
    uncommitted work, and nothing commits when this block exits.
    """
    return len(connection.atomic_blocks) == 1 and connection.commit_on_exit
