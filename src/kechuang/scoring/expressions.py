"""The safe formula language of indicator systems: tokenizer, Pratt parser, AST, constant
folding and compilation to Ibis. Formulas are analyst-written data, so they are parsed into a
small AST and never handed to Python ``eval``.

Grammar (lowest to highest precedence): ``or`` < ``and`` < ``not`` < comparisons
(``< <= > >= == !=``) < ``+ -`` < ``* / × ÷`` < unary ``-`` < calls, names, numbers, ``( )``.

Missing-value rules (documented in docs/scoring/README.md): a division by zero, the log of a
non-positive number and the square root of a negative number give a missing value (which the
indicator's imputation then handles); missing inputs propagate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir


class ExpressionError(ValueError):
    """A formula that cannot be parsed or is used wrongly; the message is Chinese."""


# --------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / < <= > >= == != and or
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]
    years: int | None = None  # the ``years=n`` keyword of mean/sum/growth


Node = Num | Name | Unary | Binary | Call

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

# --------------------------------------------------------------------------- tokenizer
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*)"
    r"|(?P<op><=|>=|==|!=|[-+*/×÷<>(),=]))"
)
_OP_ALIASES = {"×": "*", "÷": "/"}


@dataclass(frozen=True)
class Token:
    kind: str  # num | name | op | end
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].lstrip()[:1]
            raise ExpressionError(f"公式第{pos + 1}个字符附近有无法识别的符号 “{bad}”")
        kind = m.lastgroup or "op"
        tok = m.group(kind)
        if kind == "op":
            tok = _OP_ALIASES.get(tok, tok)
        if kind == "name" and tok in ("and", "or", "not"):
            kind = "op"
        tokens.append(Token(kind, tok, m.start(kind)))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# --------------------------------------------------------------------------- parser
_BINARY_POWER = {
    "or": 1, "and": 2,
    "<": 4, "<=": 4, ">": 4, ">=": 4, "==": 4, "!=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6,
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text or tok.kind not in ("op",):
            found = tok.text or "公式结尾"
            raise ExpressionError(f"公式第{tok.pos + 1}个字符处应为 “{text}”，实为 “{found}”")

    def parse(self) -> Node:
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"公式第{tok.pos + 1}个字符处多余的 “{tok.text}”")
        return node

    def expr(self, min_power: int) -> Node:
        left = self.prefix()
        compared = False
        while True:
            tok = self.peek()
            power = _BINARY_POWER.get(tok.text) if tok.kind == "op" else None
            if power is None or power <= min_power:
                return left
            self.next()
            if power == 4:
                # comparisons do not chain: a < b < c is an error
                if compared:
                    raise ExpressionError("比较运算不能连写（如 a < b < c），请用 and 连接")
                compared = True
            right = self.expr(power)
            left = Binary(tok.text, left, right)

    def prefix(self) -> Node:
        tok = self.next()
        if tok.kind == "num":
            return Num(float(tok.text))
        if tok.kind == "op" and tok.text == "-":
            return Unary("-", self.expr(6))
        if tok.kind == "op" and tok.text == "+":
            return self.expr(6)
        if tok.kind == "op" and tok.text == "not":
            return Unary("not", self.expr(3))
        if tok.kind == "op" and tok.text == "(":
            inner = self.expr(0)
            self.expect(")")
            return inner
        if tok.kind == "name":
            if self.peek().text == "(" and self.peek().kind == "op":
                return self.call(tok)
            return Name(tok.text)
        found = tok.text or "公式结尾"
        raise ExpressionError(f"公式第{tok.pos + 1}个字符处不应出现 “{found}”")

    def call(self, name: Token) -> Node:
        func = name.text
        if func not in FUNCTIONS:
            raise ExpressionError(f"未知的函数 “{func}”（可用：{'、'.join(FUNCTIONS)}）")
        self.expect("(")
        args: list[Node] = []
        years: int | None = None
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            while True:
                tok = self.peek()
                nxt = self.tokens[self.i + 1]
                if tok.kind == "name" and nxt.kind == "op" and nxt.text == "=":
                    if tok.text != "years" or not FUNCTIONS[func][2]:
                        raise ExpressionError(f"函数 {func} 不接受参数 “{tok.text}=”")
                    self.next()
                    self.next()
                    value = self.next()
                    if value.kind != "num" or not float(value.text).is_integer():
                        raise ExpressionError(f"函数 {func} 的 years= 应为正整数")
                    years = int(float(value.text))
                    if years < 1:
                        raise ExpressionError(f"函数 {func} 的 years= 应为正整数")
                else:
                    if years is not None:
                        raise ExpressionError(f"函数 {func} 的 years= 应写在最后")
                    args.append(self.expr(0))
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.next()
                    continue
                break
        self.expect(")")
        lo, hi, _ = FUNCTIONS[func]
        if not lo <= len(args) <= hi:
            raise ExpressionError(f"函数 {func} 需要 {lo}–{hi} 个参数，实有 {len(args)} 个")
        if func == "lag" and len(args) == 2:
            k = fold(args[1])
            if not isinstance(k, Num) or not k.value.is_integer() or k.value < 1:
                raise ExpressionError("lag(x, k) 的 k 应为正整数")
        if func == "growth" and years is not None and years < 2:
            raise ExpressionError("growth 的 years= 至少为 2")
        return Call(func, tuple(args), years)


def parse(text: str) -> Node:
    """Parse a formula; raises :class:`ExpressionError` with a Chinese message."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("公式为空")
    return _Parser(text).parse()


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


def substitute(node: Node, mapping: dict[str, Node]) -> Node:
    if isinstance(node, Name):
        return mapping.get(node.name, node)
    if isinstance(node, Unary):
        return Unary(node.op, substitute(node.operand, mapping))
    if isinstance(node, Binary):
        return Binary(node.op, substitute(node.left, mapping), substitute(node.right, mapping))
    if isinstance(node, Call):
        return Call(node.func, tuple(substitute(a, mapping) for a in node.args), node.years)
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
    args = [to_text(a) for a in node.args]
    if node.years is not None:
        args.append(f"years={node.years}")
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
        return Call(node.func, args, node.years)
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
            k_node = node.args[1] if len(node.args) == 2 else Num(1.0)
            k = int(k_node.value) if isinstance(k_node, Num) else 1
            return self._lag(x, k)
        n = node.years or (3 if f == "growth" else 1)
        if f in ("mean", "sum"):
            w = ibis.window(
                group_by=self.t[self.unit], order_by=self.t[self.year], preceding=n - 1,
                following=0,
            )
            return x.mean().over(w) if f == "mean" else x.sum().over(w)
        # growth: mean of the n-1 consecutive year-on-year ratios, minus 1; with n = 3 this
        # is the HTE form ½·(v2/v1 + v3/v2) − 1. Any zero or missing denominator → missing.
        ratios = []
        for i in range(n - 1):
            newer = x if i == 0 else self._lag(x, i)
            older = self._lag(x, i + 1)
            ratios.append(self._div(newer, older))
        total = ratios[0]
        for r in ratios[1:]:
            total = total + r
        return total / (n - 1) - 1
