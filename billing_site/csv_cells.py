"""CSV files that a spreadsheet opens as data, never as formulas.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before reading one) is run as a formula when the
file is opened; such cells are written with a leading single quote, which
spreadsheets show as text. Plain decimal numbers (``-5.00``, a credit) stay as
they are: a spreadsheet reads them as numbers, never as formulas.
"""

import csv
from collections.abc import Iterable

from billing_site.decimals import PLAIN_DECIMAL_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """``value`` as it is safe to write: text starting like a formula is
    prefixed with ``'``; numbers and other text are unchanged."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not PLAIN_DECIMAL_RE.fullmatch(value)
    ):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose rows go through ``csv_cell``."""

    def __init__(self, stream, **options) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)
