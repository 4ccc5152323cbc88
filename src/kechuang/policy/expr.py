"""A small, safe expression language for policy leaves and score items.

Policy staff write conditions such as ``sum3(rd_expense) / sum3(revenue)``; they are
tokenised and parsed by the shared parser (``kechuang.kit.expressions``) into a tiny AST
(never ``eval``), so a policy file cannot run code. The AST is evaluated elsewhere
(``evaluate.py``) over whole columns.

Grammar::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | cmp
    cmp     := add (('>=' | '>' | '<=' | '<' | '==' | '!=') add)?
    add     := mul (('+' | '-') mul)*
    mul     := unary (('*' | '/') unary)*
    unary   := ('-' | '+') unary | primary
    primary := NUMBER | STRING | NAME | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'

Names may contain dots: ``params.pass_mark``, ``points.staff``. ``policy('tech_sme')`` is
another policy's verdict (see ``kechuang.policy.atoms``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kechuang.kit import expressions as kx

FUNCTIONS = {
    "sum3": (1, 1), "sumn": (2, 2), "avg3": (1, 1), "lag": (2, 2), "growth3": (1, 1),
    "max": (1, 9), "min": (1, 9), "if": (3, 3), "days_since": (1, 1), "one_of": (2, 100),
    "known": (1, 1), "starts_with": (2, 100), "policy": (1, 1),
}


class ExprError(ValueError):
    """A malformed expression; the message says where (character position) and why."""


Num = kx.Number
Str = kx.String
Var = kx.Name


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

#: the shared parser (kechuang.kit.expressions) configured for policy expressions
LANGUAGE = kx.Language(
    {fn: (lo, hi, frozenset()) for fn, (lo, hi) in FUNCTIONS.items()},
    strings=True,
    dotted_names=True,
    error=ExprError,
    messages={
        "bad_char": "无法识别的字符 {char!r}（第 {pos} 个字符）",
        "expected": "此处应为 {expected!r}，实为 {found!r}（第 {pos} 个字符）",
        "trailing": "多余的内容 {found!r}（第 {pos} 个字符）",
        "unexpected": "此处应为数值、名称或括号，实为 {found!r}（第 {pos} 个字符）",
        "unknown_function": "未知函数 {func}（第 {pos} 个字符）",
        "arity": "函数 {func} 的参数个数不对（第 {pos} 个字符）",
    },
)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    return [(t.kind, t.text, t.pos) for t in LANGUAGE.tokenize(text)]


def _convert(node: kx.Node) -> Node:
    """The shared parser's AST as this module's nodes."""
    if isinstance(node, Num | Str | Var):
        return node
    if isinstance(node, kx.Unary):
        return Not(_convert(node.operand)) if node.op == "not" else Neg(_convert(node.operand))
    if isinstance(node, kx.Binary):
        return Bin(node.op, _convert(node.left), _convert(node.right))
    return Call(node.func, tuple(_convert(a) for a in node.args))


def parse(text: str | float | int | bool) -> Node:
    """Parse an expression; numbers written directly in YAML are accepted as constants."""
    if isinstance(text, bool):
        return Num(1.0 if text else 0.0)
    if isinstance(text, int | float):
        return Num(float(text))
    return _convert(LANGUAGE.parse(str(text)))


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


def policy_refs(node: Node) -> list[Node]:
    """Every ``policy(...)`` call of the expression (to resolve and check references)."""
    if isinstance(node, Call):
        own = [node] if node.fn == "policy" else []
        return own + [c for a in node.args for c in policy_refs(a)]
    if isinstance(node, Bin):
        return policy_refs(node.left) + policy_refs(node.right)
    if isinstance(node, Not | Neg):
        return policy_refs(node.arg)
    return []
