"""Database ids read from text: ASCII digits within PostgreSQL's ``bigint``.

``str.isdigit()`` also accepts "²" (which ``int()`` refuses) and "٣" (which
``int()`` reads as 3), so ids from paths, bodies and query strings go through here.
"""

BIGINT_MAX = 2**63 - 1


def ascii_id(value) -> int | None:
    """A positive database id from text of ASCII digits (or an int), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value) > 19:
            return None
        number = int(value)
    else:
        return None
    return number if 0 < number <= BIGINT_MAX else None
