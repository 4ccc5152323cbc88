"""Cell parsers: property tests over the ways Chinese spreadsheets write numbers, dates,
periods and flags."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kechuang.ingest.parsing import CellError, parse_bool, parse_date, parse_number, parse_period

FULLWIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
decimals = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4,
                       allow_nan=False, allow_infinity=False)


@given(decimals, st.sampled_from(["plain", "thousands", "fullwidth", "spaces"]))
def test_numbers_in_every_spelling_parse_exactly(value, spelling):
    text = f"{value:f}"
    if spelling == "thousands":
        text = f"{value:,f}"
    elif spelling == "fullwidth":
        text = text.translate(FULLWIDTH)
    elif spelling == "spaces":
        text = f"  {text}\u3000"
    assert parse_number(text) == value


@given(st.text(alphabet="abcxyz元万亿，、 ", min_size=1))
def test_text_is_never_a_number(text):
    if not text.strip(" ，、"):
        return
    with pytest.raises(CellError):
        parse_number(text)


@pytest.mark.parametrize("raw", ["1,23", "12,3456", "NaN", "inf", "1_000", "--1", "1.2.3", True])
def test_malformed_numbers_are_rejected(raw):
    with pytest.raises(CellError):
        parse_number(raw)


def test_xlsx_numbers_keep_their_decimal_digits():
    assert parse_number(0.1) == Decimal("0.1")
    assert parse_number(35) == Decimal(35)


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(["iso", "slash", "chinese", "serial", "compact", "datetime"]))
def test_dates_in_every_spelling_parse(d, spelling):
    raw: object = {
        "iso": d.isoformat(),
        "slash": f"{d.year}/{d.month}/{d.day}",
        "chinese": f"{d.year}年{d.month}月{d.day}日",
        "serial": (d - date(1899, 12, 30)).days,
        "compact": d.strftime("%Y%m%d"),
        "datetime": datetime(d.year, d.month, d.day),
    }[spelling]
    assert parse_date(raw) == d


@pytest.mark.parametrize("raw", ["2023-02-30", "2023/13/1", "昨天", "1850-01-01", 0, 1.5, True])
def test_impossible_dates_are_rejected(raw):
    with pytest.raises(CellError):
        parse_date(raw)


@given(st.integers(1990, 2100), st.integers(1, 12))
def test_periods(year, month):
    assert parse_period(str(year)) == (year, None)
    assert parse_period(f"{year}年") == (year, None)
    assert parse_period(year) == (year, None)
    for spelled in (f"{year}-{month:02d}", f"{year}/{month}", f"{year}年{month}月",
                    f"{year}{month:02d}", datetime(year, month, 1)):
        assert parse_period(spelled) == (year, month)


@pytest.mark.parametrize("raw", ["2023-13", "23", "二〇二三", "2023.5.5.5", 2023.5])
def test_bad_periods_are_rejected(raw):
    with pytest.raises(CellError):
        parse_period(raw)


@pytest.mark.parametrize(("raw", "value"), [("是", True), ("否", False), ("TRUE", True),
                                            ("false", False), ("1", True), (0, False),
                                            (True, True)])
def test_booleans(raw, value):
    assert parse_bool(raw) is value


def test_unknown_boolean_is_rejected():
    with pytest.raises(CellError):
        parse_bool("也许")


def test_serial_dates_match_excel():
    assert parse_date(45000) == date(1899, 12, 30) + timedelta(days=45000) == date(2023, 3, 15)
