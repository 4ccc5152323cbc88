"""The expression parser: precedence, safety (no eval), clear errors."""

from __future__ import annotations

import pytest

from kechuang.policy.expr import Bin, Call, ExprError, Num, Var, names, parse


def test_precedence_and_names():
    node = parse("a + b * 2 >= params.x and not c")
    assert isinstance(node, Bin) and node.op == "and"
    left = node.left
    assert isinstance(left, Bin) and left.op == ">="
    assert left.left == Bin("+", Var("a"), Bin("*", Var("b"), Num(2.0)))
    assert names(node) == {"a", "b", "params.x", "c"}


def test_functions_are_a_closed_list():
    assert isinstance(parse("sum3(rd_expense) / sum3(revenue)"), Bin)
    assert parse("max(a, b)") == Call("max", (Var("a"), Var("b")))
    with pytest.raises(ExprError, match="未知函数"):
        parse("__import__('os')")
    with pytest.raises(ExprError, match="参数个数"):
        parse("lag(x)")


@pytest.mark.parametrize("text", ["a +", "(a", "a b", "a ; b", "1 >= >= 2"])
def test_malformed(text):
    with pytest.raises(ExprError):
        parse(text)
