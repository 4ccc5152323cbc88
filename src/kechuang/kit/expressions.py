"""One tokenizer and parser for the small, safe expression languages of the platform.

Indicator formulas (``kechuang.scoring.expressions``) and policy conditions
(``kechuang.policy.expr``) are analyst-written data; both are parsed here into a generic AST
and never handed to Python ``eval``. Each language is a :class:`Language`: its closed function
table ``{name: (min positional, max positional, allowed keywords)}``, the features it allows
(strings, dotted names, CJK names, operator aliases such as ``×``) and its own error class and
Chinese messages; the language module converts the generic AST into its own node classes.

Grammar (lowest to highest precedence): ``or`` < ``and`` < ``not`` < comparisons
(``< <= > >= == !=``, which do not chain) < ``+ -`` < ``* /`` < unary ``- +`` < numbers,
strings, names, calls ``f(a, b, kw=c)`` and ``( )``. ``not`` may start an operand of ``and``,
``or`` and ``not`` only (``a + not b`` is an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

#: a function's shape: (min positional args, max positional args, allowed keyword names)
FunctionSpec = tuple[int, int, frozenset[str]]


class ExpressionSyntaxError(ValueError):
    """The default error class of a :class:`Language`; the message is Chinese."""


# --------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class String:
    value: str


@dataclass(frozen=True)
class Name:
    name: str  # may contain dots (``params.pass_mark``) when the language allows them


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
    keywords: tuple[tuple[str, Node], ...] = ()  # in the order written


Node = Number | String | Name | Unary | Binary | Call

V = TypeVar("V")


# --------------------------------------------------------------------------- shared formulas
def growth(newest_first: Sequence[V], div: Callable[[V, V], V]) -> V:
    """THE growth rate of the platform, written once: the mean of the year-on-year ratios
    of the values (newest first) minus 1. With three years this is the HTE form
    ½·(v₃/v₂ + v₂/v₁) − 1 (国科发火〔2016〕195号 工作指引, 成长性指标). ``div`` is the
    caller's division with its own rule for zero denominators (missing in indicator
    formulas; the HTE rules in policies); the values may be NumPy arrays or Ibis columns."""
    if len(newest_first) < 2:
        raise ValueError("growth needs at least two years")
    ratios = [div(newest_first[i], newest_first[i + 1]) for i in range(len(newest_first) - 1)]
    total: Any = ratios[0]
    for r in ratios[1:]:
        total = total + r
    return total / len(ratios) - 1


@dataclass(frozen=True)
class Token:
    kind: str  # num | str | name | op | end
    text: str
    pos: int  # 0-based character offset


#: message templates by error kind; fields: pos (1-based), char, found, expected, func,
#: available, keyword, lo, hi, n. A language overrides any of them.
DEFAULT_MESSAGES: dict[str, str] = {
    "end": "结尾",
    "bad_char": "无法识别的字符 “{char}”（第 {pos} 个字符）",
    "expected": "此处应为 “{expected}”，实为 “{found}”（第 {pos} 个字符）",
    "trailing": "多余的内容 “{found}”（第 {pos} 个字符）",
    "unexpected": "此处不应出现 “{found}”（第 {pos} 个字符）",
    "chained": "比较运算不能连写（如 a < b < c），请用 and 连接（第 {pos} 个字符）",
    "unknown_function": "未知函数 {func}（第 {pos} 个字符；可用：{available}）",
    "bad_keyword": "函数 {func} 不接受参数 “{keyword}=”（第 {pos} 个字符）",
    "duplicate_keyword": "函数 {func} 的参数 “{keyword}=” 重复（第 {pos} 个字符）",
    "keyword_order": "函数 {func} 的 {keyword}= 应写在最后（第 {pos} 个字符）",
    "arity": "函数 {func} 需要 {lo}–{hi} 个参数，实有 {n} 个（第 {pos} 个字符）",
    "too_deep": "表达式嵌套过深（第 {pos} 个字符）",
}

_KEYWORDS = {"and", "or", "not"}
_POWER = {
    "or": 1, "and": 2,
    "<": 4, "<=": 4, ">": 4, ">=": 4, "==": 4, "!=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6,
}
_NOT, _COMPARE, _PREFIX = 3, 4, 6
_MAX_DEPTH = 200  # nesting deeper than any real formula; keeps Python's stack safe


class Language:
    """One expression language: function table, allowed features, error class, messages."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        strings: bool = False,
        dotted_names: bool = False,
        cjk_names: bool = False,
        aliases: Mapping[str, str] | None = None,
        error: type[ValueError] = ExpressionSyntaxError,
        messages: Mapping[str, str] | None = None,
    ) -> None:
        self.functions = dict(functions)
        self.aliases = dict(aliases or {})
        self.error = error
        self.messages = {**DEFAULT_MESSAGES, **(messages or {})}
        first = "A-Za-z_" + ("\u4e00-\u9fff" if cjk_names else "")
        rest = first + "0-9" + ("." if dotted_names else "")
        singles = re.escape("-+*/<>(),=" + "".join(self.aliases))
        parts = [
            r"(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)",
            rf"(?P<name>[{first}][{rest}]*)",
            *([r"(?P<str>'[^']*'|\"[^\"]*\")"] if strings else []),
            rf"(?P<op><=|>=|==|!=|[{singles}])",
        ]
        self._token = re.compile(r"\s*(?:" + "|".join(parts) + ")")

    def fail(self, kind: str, pos: int, **fields: object) -> ValueError:
        """The language's error for ``kind`` at 0-based ``pos`` (to be raised)."""
        return self.error(self.messages[kind].format(pos=pos + 1, **fields))

    def tokenize(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = self._token.match(text, pos)
            if not m or m.end() == pos:
                raise self.fail("bad_char", pos, char=text[pos:].lstrip()[:1])
            kind = m.lastgroup or "op"
            tok, start = m.group(kind), m.start(kind)
            if kind == "op":
                tok = self.aliases.get(tok, tok)
            if kind == "name" and tok in _KEYWORDS:
                kind = "op"
            tokens.append(Token(kind, tok, start))
            pos = m.end()
        tokens.append(Token("end", "", len(text)))
        return tokens

    def parse(self, text: str) -> Node:
        """Parse ``text`` into the generic AST; raises the language's error class."""
        return _Parser(self, text).parse()


class _Parser:
    """Pratt parser over the tokens of one text."""

    def __init__(self, language: Language, text: str) -> None:
        self.lang = language
        self.tokens = language.tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.text == text

    def found(self, tok: Token) -> str:
        return tok.text or self.lang.messages["end"]

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.kind != "op" or tok.text != text:
            raise self.lang.fail("expected", tok.pos, expected=text, found=self.found(tok))

    def parse(self) -> Node:
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "end":
            raise self.lang.fail("trailing", tok.pos, found=tok.text)
        return node

    def expr(self, min_power: int) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.lang.fail("too_deep", self.peek().pos)
        left = self.prefix(min_power)
        compared = False
        while True:
            tok = self.peek()
            power = _POWER.get(tok.text) if tok.kind == "op" else None
            if power is None or power <= min_power:
                self.depth -= 1
                return left
            self.next()
            if power == _COMPARE:
                if compared:
                    raise self.lang.fail("chained", tok.pos)
                compared = True
            left = Binary(tok.text, left, self.expr(power))

    def prefix(self, min_power: int) -> Node:
        tok = self.next()
        if tok.kind == "num":
            return Number(float(tok.text))
        if tok.kind == "str":
            return String(tok.text[1:-1])
        if tok.kind == "name":
            return self.call(tok) if self.at("(") else Name(tok.text)
        if tok.kind == "op" and tok.text == "-":
            return Unary("-", self.expr(_PREFIX))
        if tok.kind == "op" and tok.text == "+":
            return self.expr(_PREFIX)
        if tok.kind == "op" and tok.text == "not" and min_power <= _NOT:
            return Unary("not", self.expr(_NOT))
        if tok.kind == "op" and tok.text == "(":
            inner = self.expr(0)
            self.expect(")")
            return inner
        raise self.lang.fail("unexpected", tok.pos, found=self.found(tok))

    def call(self, name: Token) -> Node:
        func = name.text
        spec = self.lang.functions.get(func)
        if spec is None:
            available = "、".join(self.lang.functions)
            raise self.lang.fail("unknown_function", name.pos, func=func, available=available)
        lo, hi, allowed = spec
        self.expect("(")
        args: list[Node] = []
        keywords: dict[str, Node] = {}
        while not self.at(")"):
            tok = self.peek()
            nxt = self.tokens[self.i + 1] if tok.kind == "name" else tok
            if nxt.kind == "op" and nxt.text == "=":
                fields = {"func": func, "keyword": tok.text}
                if tok.text not in allowed:
                    raise self.lang.fail("bad_keyword", tok.pos, **fields)
                if tok.text in keywords:
                    raise self.lang.fail("duplicate_keyword", tok.pos, **fields)
                self.i += 2
                keywords[tok.text] = self.expr(0)
            else:
                if keywords:
                    raise self.lang.fail("keyword_order", tok.pos, func=func,
                                         keyword=next(iter(keywords)))
                args.append(self.expr(0))
            if not self.at(","):
                break
            self.next()
            if self.at(")"):  # a trailing comma is an error, as in f(a, )
                raise self.lang.fail("unexpected", self.peek().pos, found=")")
        self.expect(")")
        if not lo <= len(args) <= hi:
            raise self.lang.fail("arity", name.pos, func=func, lo=lo, hi=hi, n=len(args))
        return Call(func, tuple(args), tuple(keywords.items()))
