from pathlib import Path

import pytest
from django.conf import settings

from profiling import msnbc

pytestmark = pytest.mark.clockless  # a pure engine: no clock, no database

ARCHIVE = Path(settings.SHARED_DATA_DIR) / msnbc.ARCHIVE

SAMPLE = (
    b"% Different categories found in input file:\r\n\r\n"
    b"frontpage news tech\r\n\r\n\r\n% Sequences:\r\n\r\n"
    b"1 1 \r\n2 \r\n3 2 2 3 12 \r\n"
)


def test_parse_reads_header_and_sequences():
    clickstream = msnbc.parse(SAMPLE)
    assert clickstream.categories == ["frontpage", "news", "tech"]
    assert clickstream.sequences.to_lists() == [[0, 0], [1], [2, 1, 1, 2, 11]]


def test_parse_limit_keeps_first_sequences():
    assert msnbc.parse(SAMPLE, limit=2).sequences.to_lists() == [[0, 0], [1]]


@pytest.mark.skipif(not ARCHIVE.exists(), reason="msnbc archive not available")
def test_sample_evaluation_beats_first_order_with_variable_order():
    clickstream = msnbc.load(ARCHIVE, limit=60_000)
    assert len(clickstream.categories) == 17
    scores = msnbc.evaluate(clickstream)
    for variant in ("raw", "collapsed"):
        by_name = {s.name: s for s in scores[variant]}
        variable = by_name["variable order 1..5"]
        assert variable.top1 > by_name["order 1"].top1
        assert variable.top3 > by_name["order 1"].top3
        assert variable.top1 > by_name["most popular"].top1
    assert {s.name: s for s in scores["collapsed"]}["repeat last"].top1 == 0.0
