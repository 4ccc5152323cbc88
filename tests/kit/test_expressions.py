"""The shared expression parser: features switched by the language, keywords, errors."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kechuang.kit import expressions as kx

FUNCS: dict[str, kx.FunctionSpec] = {
    "f": (1, 2, frozenset({"years"})),
    "g": (0, 0, frozenset()),
}
PLAIN = kx.Language(FUNCS)
RICH = kx.Language(FUNCS, strings=True, dotted_names=True, cjk_names=True,
                   aliases={"×": "*"})


def test_precedence_and_generic_nodes():
    assert PLAIN.parse("a + b * 2") == kx.Binary(
        "+", kx.Name("a"), kx.Binary("*", kx.Name("b"), kx.Number(2.0)))
    assert PLAIN.parse("-a * b") == kx.Binary("*", kx.Unary("-", kx.Name("a")), kx.Name("b"))
    assert PLAIN.parse("not a < 1 and b or c") == PLAIN.parse("((not (a < 1)) and b) or c")
    assert PLAIN.parse("+a") == kx.Name("a")
    assert PLAIN.parse(".5 + 1.") == kx.Binary("+", kx.Number(0.5), kx.Number(1.0))


def test_calls_with_keywords():
    assert PLAIN.parse("f(a, 2, years=3)") == kx.Call(
        "f", (kx.Name("a"), kx.Number(2.0)), (("years", kx.Number(3.0)),))
    assert PLAIN.parse("g()") == kx.Call("g", ())


def test_features_are_switched_by_the_language():
    assert RICH.parse("'x' == params.mark") == kx.Binary(
        "==", kx.String("x"), kx.Name("params.mark"))
    assert RICH.parse("研发投入 × 2") == kx.Binary("*", kx.Name("研发投入"), kx.Number(2.0))
    for text in ["'x'", "研发投入", "a × 2"]:
        with pytest.raises(kx.ExpressionSyntaxError, match="无法识别"):
            PLAIN.parse(text)
    with pytest.raises(kx.ExpressionSyntaxError, match="无法识别的字符 “.”（第 7 个字符）"):
        PLAIN.parse("params.mark")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a +", "结尾"),
        ("h(a)", "未知函数 h"),
        ("f()", "需要 1–2 个参数"),
        ("g(a)", "实有 1 个"),
        ("f(a, weeks=2)", "不接受参数"),
        ("f(a, years=2, years=3)", "重复"),
        ("f(years=2, a)", "应写在最后"),
        ("f(a, )", "不应出现"),
        ("a < b < c", "不能连写"),
        ("a + not b", "不应出现 “not”（第 5 个字符）"),
        ("f(", "不应出现 “结尾”（第 3 个字符）"),
        ("(a", "应为 “)”"),
        ("a b", "多余的内容 “b”（第 3 个字符）"),
        ("(" * 300 + "a" + ")" * 300, "嵌套过深"),
    ],
)
def test_errors_say_where_and_why(text, fragment):
    with pytest.raises(kx.ExpressionSyntaxError, match=re.escape(fragment)):
        PLAIN.parse(text)


def test_a_language_supplies_its_error_class_and_messages():
    class MyError(ValueError):
        pass

    lang = kx.Language(FUNCS, error=MyError, messages={"end": "公式结尾",
                                                      "unexpected": "第{pos}字不应为{found}"})
    with pytest.raises(MyError, match="第4字不应为公式结尾"):
        lang.parse("a +")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab1.+-*/()<>=, ×'\"fgyears_notandor研", max_size=40))
def test_parser_never_crashes(text):
    for lang in (PLAIN, RICH):
        with contextlib.suppress(kx.ExpressionSyntaxError):
            lang.parse(text)


def test_the_one_growth_formula_on_arrays_and_both_languages_use_it():
    import numpy as np

    from kechuang.policy import engine as policy_engine
    from kechuang.scoring import expressions as scoring_ex

    v3, v2, v1 = np.array([4600.0, 120.0]), np.array([4000.0, 100.0]), np.array([3200.0, 80.0])
    g = kx.growth([v3, v2, v1], np.divide)
    assert np.allclose(g, 0.5 * (v3 / v2 + v2 / v1) - 1)  # the HTE form
    assert kx.growth([v3, v2], np.divide).tolist() == (v3 / v2 - 1).tolist()
    # neither language keeps a copy of the formula: both call kx.growth
    import inspect

    for module in (policy_engine, scoring_ex):
        source = inspect.getsource(module)
        assert "kx.growth(" in source and "0.5 * (" not in source
