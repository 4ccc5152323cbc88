"""A small, safe expression language for policy leaves and score items.

Policy staff write conditions such as ``sum3(rd_expense) / sum3(revenue)``; they are
tokenised and parsed by recursive descent into a tiny AST (never ``eval``), so a policy
file cannot run code. The AST is evaluated elsewhere (``evaluate.py``) over whole columns.

Grammar::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | cmp
    cmp     := add (('>=' | '>' | '<=' | '<' | '==' | '!=') add)?
    add     := mul (('+' | '-') mul)*
    mul     := unary (('*' | '/') unary)*
    unary   := '-' unary | primary
    primary := NUMBER | STRING | NAME | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'

Names may contain dots: ``params.pass_mark``, ``points.staff``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FUNCTIONS = {
    "sum3": (1, 1), "sumn": (2, 2), "avg3": (1, 1), "lag": (2, 2), "growth3": (1, 1),
    "max": (1, 9), "min": (1, 9), "if": (3, 3), "days_since": (1, 1), "one_of": (2, 100),
    "known": (1, 1), "starts_with": (2, 100),
}


class ExprError(ValueError):
    """A malformed expression; the message says where (character position) and why."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Bin:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    arg: Node


@dataclass(frozen=True)
class Neg:
    arg: Node


Node = Num | Str | Var | Call | Bin | Not | Neg

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>>=|<=|==|!=|[-+*/()<>,]))"
)
_KEYWORDS = {"and", "or", "not"}


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExprError(f"无法识别的字符 {text[pos:].strip()[:1]!r}（第 {pos + 1} 个字符）")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "op"
        tokens.append((kind, value, m.start(kind)))
        pos = m.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        if value is not None and tok[1] != value:
            found = tok[1] or "结尾"
            raise ExprError(f"此处应为 {value!r}，实为 {found!r}（第 {tok[2] + 1} 个字符）")
        self.i += 1
        return tok

    def accept(self, *values: str) -> str | None:
        kind, value, _ = self.peek()
        if kind == "op" and value in values:
            self.i += 1
            return value
        return None

    def parse(self) -> Node:
        node = self.or_()
        kind, value, pos = self.peek()
        if kind != "end":
            raise ExprError(f"多余的内容 {value!r}（第 {pos + 1} 个字符）")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("or"):
            node = Bin("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("and"):
            node = Bin("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("not"):
            return Not(self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        node = self.add()
        op = self.accept(">=", ">", "<=", "<", "==", "!=")
        if op:
            node = Bin(op, node, self.add())
        return node

    def add(self) -> Node:
        node = self.mul()
        while op := self.accept("+", "-"):
            node = Bin(op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while op := self.accept("*", "/"):
            node = Bin(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Neg(self.unary())
        return self.primary()

    def primary(self) -> Node:
        kind, value, pos = self.take()
        if kind == "num":
            return Num(float(value))
        if kind == "str":
            return Str(value[1:-1])
        if kind == "name":
            if self.accept("("):
                if value not in FUNCTIONS:
                    raise ExprError(f"未知函数 {value}（第 {pos + 1} 个字符）")
                args: list[Node] = []
                if not self.accept(")"):
                    args.append(self.or_())
                    while self.accept(","):
                        args.append(self.or_())
                    self.take(")")
                lo, hi = FUNCTIONS[value]
                if not lo <= len(args) <= hi:
                    raise ExprError(f"函数 {value} 的参数个数不对（第 {pos + 1} 个字符）")
                return Call(value, tuple(args))
            return Var(value)
        if kind == "op" and value == "(":
            node = self.or_()
            self.take(")")
            return node
        found = value or "结尾"
        raise ExprError(f"此处应为数值、名称或括号，实为 {found!r}（第 {pos + 1} 个字符）")


def parse(text: str | float | int | bool) -> Node:
    """Parse an expression; numbers written directly in YAML are accepted as constants."""
    if isinstance(text, bool):
        return Num(1.0 if text else 0.0)
    if isinstance(text, int | float):
        return Num(float(text))
    return _Parser(str(text)).parse()


def names(node: Node) -> set[str]:
    """Every variable name the expression reads (to check references when loading)."""
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Call):
        return set().union(*(names(a) for a in node.args))
    if isinstance(node, Bin):
        return names(node.left) | names(node.right)
    if isinstance(node, Not | Neg):
        return names(node.arg)
    return set()
