"""The formula language: parsing, errors, constant folding, and evaluation on DuckDB."""

from __future__ import annotations

import contextlib
import math

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kechuang.kit import expressions as kx
from kechuang.scoring import expressions as ex


def test_precedence_and_aliases():
    assert ex.parse("a + b * c") == ex.Binary("+", ex.Name("a"), ex.Binary("*", ex.Name("b"),
                                                                             ex.Name("c")))
    assert ex.parse("a × b ÷ c") == ex.parse("(a * b) / c")
    assert ex.parse("-a * b") == ex.Binary("*", ex.Unary("-", ex.Name("a")), ex.Name("b"))
    assert ex.parse("a > 1 and not b < 2 or c == 3") == ex.parse(
        "((a > 1) and (not (b < 2))) or (c == 3)")


def test_calls_and_years_keyword():
    node = ex.parse("growth(revenue, years=3)")
    assert node == ex.Call("growth", (ex.Name("revenue"),), (("years", ex.Num(3.0)),))
    assert ex.years_of(node) == 3 and ex.years_of(ex.parse("growth(revenue)")) == 3
    assert ex.years_of(ex.parse("mean(revenue)")) == 1
    # the AST is the shared parser's (kechuang.kit.expressions), not a copy
    assert ex.Call is kx.Call and ex.Binary is kx.Binary and ex.Unary is kx.Unary
    assert ex.lookback(ex.parse("growth(lag(a, 2), years=4) + mean(b, years=2)")) == 5
    assert ex.names(ex.parse("if(a > 0, ratio(b, c), lag(d, 2))")) == {"a", "b", "c", "d"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a +", "公式结尾"),
        ("a $ b", "无法识别"),
        ("foo(a)", "未知的函数"),
        ("log(a, b)", "参数"),
        ("lag(a, 0)", "正整数"),
        ("mean(a, weeks=3)", "不接受参数"),
        ("growth(a, years=1)", "至少为 2"),
        ("(a + b", "应为"),
        ("a < b < c", "不能连写"),
        ("", "为空"),
    ],
)
def test_parse_errors_are_chinese(text, fragment):
    with pytest.raises(ex.ExpressionError, match=fragment):
        ex.parse(text)


def test_constant_folding():
    assert ex.constant("log(100)") == pytest.approx(math.log(100))
    assert ex.constant("max(1, 2) * 3 - 1") == 5
    assert ex.fold(ex.parse("a * (2 + 3)")) == ex.parse("a * 5")
    with pytest.raises(ex.ExpressionError, match="常量"):
        ex.constant("log(x)")
    with pytest.raises(ex.ExpressionError, match="常量"):
        ex.constant("1 / 0")


def _eval(formula: str, df: pd.DataFrame) -> list[float | None]:
    con = ibis.duckdb.connect()
    t = con.create_table("d", df)
    expr = ex.IbisCompiler(t, "u", "year").compile(ex.parse(formula))
    out = t.mutate(v=expr).order_by(["u", "year"]).execute()["v"]
    return [None if pd.isna(v) else float(v) for v in out]


PANEL = pd.DataFrame({
    "u": ["a"] * 4 + ["b"] * 4,
    "year": [2020, 2021, 2022, 2023] * 2,
    "x": [1.0, 2.0, 4.0, 6.0, 0.0, 5.0, 10.0, 10.0],
    "y": [2.0, 0.0, 1.0, 3.0, 1.0, 1.0, 1.0, 2.0],
})


def test_arithmetic_and_division_by_zero_is_missing():
    assert _eval("x / y", PANEL) == [0.5, None, 4.0, 2.0, 0.0, 5.0, 10.0, 5.0]
    assert _eval("ratio(x, y) + 1", PANEL)[1] is None


def test_lag_mean_sum_within_unit():
    assert _eval("lag(x, 1)", PANEL) == [None, 1.0, 2.0, 4.0, None, 0.0, 5.0, 10.0]
    assert _eval("lag(x, 2)", PANEL)[:4] == [None, None, 1.0, 2.0]
    assert _eval("sum(x, years=2)", PANEL)[:4] == [1.0, 3.0, 6.0, 10.0]
    assert _eval("mean(x, years=3)", PANEL)[4:] == [0.0, 2.5, 5.0, 25 / 3]


def test_growth_is_the_hte_form_and_zero_denominator_is_missing():
    g = _eval("growth(x, years=3)", PANEL)
    assert g[2] == pytest.approx(0.5 * (2 / 1 + 4 / 2) - 1)
    assert g[3] == pytest.approx(0.5 * (4 / 2 + 6 / 4) - 1)
    assert g[0] is None and g[1] is None
    assert g[6] is None  # b: 0 → 5 → 10 has a zero denominator
    assert g[7] == pytest.approx(0.5 * (10 / 5 + 10 / 10) - 1)


def test_functions_and_conditionals():
    assert _eval("if(x > 3 and y >= 1, 1, 0)", PANEL) == [0, 0, 1, 1, 0, 1, 1, 1]
    assert _eval("log(x)", PANEL)[4] is None  # log(0) → missing
    assert _eval("sqrt(x - 3)", PANEL)[:2] == [None, None]
    assert _eval("max(x, y) - min(x, y)", PANEL)[0] == 1.0
    assert _eval("abs(y - x)", PANEL)[3] == 3.0


# --------------------------------------------------------------------------- hypothesis
_names = st.sampled_from(["a", "b", "rd_expense", "revenue"])
_nums = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda v: ex.Num(v))


def _trees(depth: int = 3) -> st.SearchStrategy[ex.Node]:
    leaf = st.one_of(_names.map(ex.Name), _nums)
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.tuples(st.sampled_from(["+", "-", "*", "/", "<", "and"]), kids, kids).map(
                lambda t: ex.Binary(*t)),
            st.tuples(st.sampled_from(["-", "not"]), kids).map(lambda t: ex.Unary(*t)),
            st.tuples(st.sampled_from(["log", "sqrt", "abs"]), kids).map(
                lambda t: ex.Call(t[0], (t[1],))),
            st.tuples(kids, st.integers(2, 5)).map(
                lambda t: ex.Call("growth", (t[0],), (("years", ex.Num(float(t[1]))),))),
            st.tuples(kids, kids, kids).map(lambda t: ex.Call("if", t)),
        ),
        max_leaves=12,
    )


@settings(max_examples=200, deadline=None)
@given(_trees())
def test_round_trip(tree):
    text = ex.to_text(tree)
    assert ex.to_text(ex.parse(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1.+-*/()<>=, ×÷logsqrtifnotand", max_size=30))
def test_parser_never_crashes(text):
    with contextlib.suppress(ex.ExpressionError):
        ex.parse(text)
