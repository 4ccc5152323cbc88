"""The safe formula language of indicator systems: AST, constant folding and compilation to
Ibis. Formulas are analyst-written data, so they are parsed into a small AST and never handed
to Python ``eval``; the tokenizer and parser are shared with the policy language
(``kechuang.kit.expressions``), this module supplies its function table and extra checks.

Grammar (lowest to highest precedence): ``or`` < ``and`` < ``not`` < comparisons
(``< <= > >= == !=``) < ``+ -`` < ``* / × ÷`` < unary ``-`` < calls, names, numbers, ``( )``.

Missing-value rules (documented in docs/scoring/README.md): a division by zero, the log of a
non-positive number and the square root of a negative number give a missing value (which the
indicator's imputation then handles); missing inputs propagate.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import ibis.expr.types as ir

from kechuang.kit import expressions as kx


class ExpressionError(ValueError):
    """A formula that cannot be parsed or is used wrongly; the message is Chinese."""


# --------------------------------------------------------------------------- AST
# the shared parser's node classes (kechuang.kit.expressions), used as they are
Num = kx.Number
Name = kx.Name
Unary = kx.Unary
Binary = kx.Binary
Call = kx.Call
Node = kx.Node

#: function name -> (min positional args, max positional args, accepts years=)
FUNCTIONS: dict[str, tuple[int, int, bool]] = {
    "log": (1, 1, False),
    "sqrt": (1, 1, False),
    "abs": (1, 1, False),
    "exp": (1, 1, False),
    "min": (2, 16, False),
    "max": (2, 16, False),
    "lag": (1, 2, False),
    "mean": (1, 1, True),
    "sum": (1, 1, True),
    "growth": (1, 1, True),
    "ratio": (2, 2, False),
    "if": (3, 3, False),
}
#: functions whose value depends on earlier years (cannot be constant-folded)
TIME_FUNCTIONS = {"lag", "mean", "sum", "growth"}

# --------------------------------------------------------------------------- parser
#: the shared parser (kechuang.kit.expressions) configured for formulas
LANGUAGE = kx.Language(
    {f: (lo, hi, frozenset({"years"} if yrs else ())) for f, (lo, hi, yrs) in FUNCTIONS.items()},
    cjk_names=True,
    aliases={"×": "*", "÷": "/"},
    error=ExpressionError,
    messages={
        "end": "公式结尾",
        "bad_char": "公式第{pos}个字符附近有无法识别的符号 “{char}”",
        "expected": "公式第{pos}个字符处应为 “{expected}”，实为 “{found}”",
        "trailing": "公式第{pos}个字符处多余的 “{found}”",
        "unexpected": "公式第{pos}个字符处不应出现 “{found}”",
        "chained": "比较运算不能连写（如 a < b < c），请用 and 连接",
        "unknown_function": "未知的函数 “{func}”（可用：{available}）",
        "bad_keyword": "函数 {func} 不接受参数 “{keyword}=”",
        "keyword_order": "函数 {func} 的 {keyword}= 应写在最后",
        "arity": "函数 {func} 需要 {lo}–{hi} 个参数，实有 {n} 个",
    },
)
Token = kx.Token


def tokenize(text: str) -> list[Token]:
    return LANGUAGE.tokenize(text)


#: the default ``years=`` of the functions that take it
DEFAULT_YEARS = {"mean": 1, "sum": 1, "growth": 3}


def years_of(node: Call) -> int:
    """The ``years=`` of a mean/sum/growth call (its default when not written)."""
    for key, value in node.keywords:
        if key == "years" and isinstance(value, Num):
            return int(value.value)
    return DEFAULT_YEARS.get(node.func, 1)


def lag_of(node: Call) -> int:
    """The ``k`` of ``lag(x, k)`` (1 when not written)."""
    k = node.args[1] if len(node.args) == 2 else None
    return int(k.value) if isinstance(k, Num) else 1


def _check(node: Node) -> Node:
    """The formula-specific checks on the shared parser's AST (returned unchanged but for
    constant ``lag`` offsets, which are folded)."""
    if isinstance(node, Num | Name):
        return node
    if isinstance(node, Unary):
        return Unary(node.op, _check(node.operand))
    if isinstance(node, Binary):
        return Binary(node.op, _check(node.left), _check(node.right))
    if isinstance(node, kx.String):  # strings are not enabled; kept for exhaustiveness
        raise ExpressionError(f"公式中不能使用文字 “{node.value}”")
    func, args = node.func, tuple(_check(a) for a in node.args)
    keywords: tuple[tuple[str, Node], ...] = ()
    for key, value in node.keywords:  # only years= is allowed by the function table
        if not isinstance(value, Num) or not value.value.is_integer() or value.value < 1:
            raise ExpressionError(f"函数 {func} 的 years= 应为正整数")
        keywords = ((key, value),)
    if func == "lag" and len(args) == 2:
        k = fold(args[1])
        if not isinstance(k, Num) or not k.value.is_integer() or k.value < 1:
            raise ExpressionError("lag(x, k) 的 k 应为正整数")
    node = Call(func, args, keywords)
    if func == "growth" and keywords and years_of(node) < 2:
        raise ExpressionError("growth 的 years= 至少为 2")
    return node


def parse(text: str) -> Node:
    """Parse a formula; raises :class:`ExpressionError` with a Chinese message."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("公式为空")
    return _check(LANGUAGE.parse(text))


# --------------------------------------------------------------------------- utilities
def names(node: Node) -> set[str]:
    """Every column/metric name the formula reads."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Unary):
        return names(node.operand)
    if isinstance(node, Binary):
        return names(node.left) | names(node.right)
    if isinstance(node, Call):
        out: set[str] = set()
        for a in node.args:
            out |= names(a)
        return out
    return set()


def lookback(node: Node) -> int:
    """How many years before the scored year a formula reads (0: the year itself)."""
    if isinstance(node, Call):
        inner = max((lookback(a) for a in node.args), default=0)
        if node.func == "lag":
            return lookback(node.args[0]) + lag_of(node)
        if node.func in DEFAULT_YEARS:
            return inner + years_of(node) - 1
        return inner
    if isinstance(node, Unary):
        return lookback(node.operand)
    if isinstance(node, Binary):
        return max(lookback(node.left), lookback(node.right))
    return 0


def substitute(node: Node, mapping: dict[str, Node]) -> Node:
    if isinstance(node, Name):
        return mapping.get(node.name, node)
    if isinstance(node, Unary):
        return Unary(node.op, substitute(node.operand, mapping))
    if isinstance(node, Binary):
        return Binary(node.op, substitute(node.left, mapping), substitute(node.right, mapping))
    if isinstance(node, Call):
        return Call(node.func, tuple(substitute(a, mapping) for a in node.args), node.keywords)
    return node


def to_text(node: Node) -> str:
    """Fully parenthesised text that parses back to the same AST."""
    if isinstance(node, Num):
        return repr(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Unary):
        return f"({node.op} {to_text(node.operand)})"
    if isinstance(node, Binary):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if not isinstance(node, Call):
        raise ExpressionError(f"公式中不能使用文字 “{node.value}”")
    args = [to_text(a) for a in node.args]
    args += [f"{key}={int(value.value) if isinstance(value, Num) else to_text(value)}"
             for key, value in node.keywords]
    return f"{node.func}({', '.join(args)})"


def _eval_const(op: str, vals: list[float | None]) -> float | None:
    if any(v is None for v in vals):
        return None
    v = [float(x) for x in vals if x is not None]
    if op == "log":
        return math.log(v[0]) if v[0] > 0 else None
    if op == "sqrt":
        return math.sqrt(v[0]) if v[0] >= 0 else None
    if op == "abs":
        return abs(v[0])
    if op == "exp":
        return math.exp(v[0]) if v[0] < 700 else None
    if op == "min":
        return min(v)
    if op == "max":
        return max(v)
    if op in ("ratio", "/"):
        return v[0] / v[1] if v[1] != 0 else None
    if op == "+":
        return v[0] + v[1]
    if op == "-":
        return v[0] - v[1]
    if op == "*":
        return v[0] * v[1]
    raise KeyError(op)


def fold(node: Node) -> Node:
    """Fold constant sub-expressions (``log(100)`` → 4.605…). Comparisons and conditionals
    are left alone; a constant that is undefined (``log(0)``) stays unfolded so the error is
    reported where it is used."""
    if isinstance(node, Unary):
        inner = fold(node.operand)
        if node.op == "-" and isinstance(inner, Num):
            return Num(-inner.value)
        return Unary(node.op, inner)
    if isinstance(node, Binary):
        left, right = fold(node.left), fold(node.right)
        if node.op in "+-*/" and isinstance(left, Num) and isinstance(right, Num):
            value = _eval_const(node.op, [left.value, right.value])
            if value is not None and math.isfinite(value):
                return Num(value)
        return Binary(node.op, left, right)
    if isinstance(node, Call):
        args = tuple(fold(a) for a in node.args)
        if (
            node.func not in TIME_FUNCTIONS | {"if"}
            and all(isinstance(a, Num) for a in args)
        ):
            value = _eval_const(node.func, [a.value for a in args if isinstance(a, Num)])
            if value is not None and math.isfinite(value):
                return Num(value)
        return Call(node.func, args, node.keywords)
    return node


def constant(text: Any) -> float:
    """A number in the system file: a plain number or a constant expression."""
    if isinstance(text, bool):
        raise ExpressionError("应为数字")
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str):
        raise ExpressionError("应为数字或常量表达式")
    node = fold(parse(text))
    if not isinstance(node, Num):
        raise ExpressionError(f"“{text}” 不是可求值的常量表达式")
    return node.value


# --------------------------------------------------------------------------- Ibis
class IbisCompiler:
    """Compile an AST to an Ibis value expression over a dense per-(unit, year) table.

    Time functions use window functions over ``year`` within each unit; the table must hold
    one row per unit and consecutive year (the engine builds that grid), so ``lag(x, k)`` is
    the value k rows earlier.
    """

    def __init__(self, table: ir.Table, unit: str, year: str) -> None:
        self.t = table
        self.window = ibis.window(group_by=table[unit], order_by=table[year])
        self.unit = unit
        self.year = year

    def _div(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return a.cast("float64") / b.cast("float64").nullif(0.0)

    def compile(self, node: Node) -> ir.Value:
        t = self.t
        if isinstance(node, Num):
            return ibis.literal(node.value, type="float64")
        if isinstance(node, Name):
            col = t[node.name]
            return col if col.type().is_boolean() else col.cast("float64")
        if isinstance(node, Unary):
            inner = self.compile(node.operand)
            return ~inner if node.op == "not" else -inner
        if isinstance(node, Binary):
            a, b = self.compile(node.left), self.compile(node.right)
            op = node.op
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return self._div(a, b)
            if op == "and":
                return a & b
            if op == "or":
                return a | b
            comparisons = {
                "<": a.__lt__, "<=": a.__le__, ">": a.__gt__, ">=": a.__ge__,
                "==": a.__eq__, "!=": a.__ne__,
            }
            return comparisons[op](b)
        if not isinstance(node, Call):  # strings are not enabled in formulas
            raise ExpressionError(f"公式中不能使用文字 “{node.value}”")
        return self._call(node)

    def _lag(self, x: ir.Value, k: int) -> ir.Value:
        return x.lag(k).over(self.window)

    def _call(self, node: Call) -> ir.Value:
        f = node.func
        args = [self.compile(a) for a in node.args]
        x: Any = args[0]
        if f == "log":
            return ibis.ifelse(x > 0, x.ln(), ibis.null("float64"))
        if f == "sqrt":
            return ibis.ifelse(x >= 0, x.sqrt(), ibis.null("float64"))
        if f == "abs":
            return x.abs()
        if f == "exp":
            return x.exp()
        if f == "min":
            return ibis.least(*args)
        if f == "max":
            return ibis.greatest(*args)
        if f == "ratio":
            return self._div(args[0], args[1])
        if f == "if":
            return ibis.ifelse(args[0], args[1], args[2])
        if f == "lag":
            return self._lag(x, lag_of(node))
        n = years_of(node)
        if f in ("mean", "sum"):
            w = ibis.window(
                group_by=self.t[self.unit], order_by=self.t[self.year], preceding=n - 1,
                following=0,
            )
            return x.mean().over(w) if f == "mean" else x.sum().over(w)
        # growth: the one growth formula (kechuang.kit.expressions.growth) over the n
        # latest years; any zero or missing denominator → missing
        newest_first = [x if i == 0 else self._lag(x, i) for i in range(n)]
        return kx.growth(newest_first, self._div)
