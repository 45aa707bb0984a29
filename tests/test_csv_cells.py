"""CSV cells a spreadsheet would run as formulas are written as text."""

import io

import pytest

from billing_site.csv_cells import SafeCsvWriter, csv_cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-5.00", "-5.00"),
        ("+12.5", "+12.5"),
        ("Acme = best", "Acme = best"),
        ("", ""),
        (42, 42),
        (None, None),
    ],
)
def test_cell_starting_like_a_formula_is_quoted(value, written):
    assert csv_cell(value) == written


def test_writer_quotes_every_cell_of_a_row():
    buffer = io.StringIO()

    SafeCsvWriter(buffer).writerows([["=A1", "-1.50", "@x"], ["plain", 3, "+1"]])

    assert buffer.getvalue() == "'=A1,-1.50,'@x\r\nplain,3,+1\r\n"
