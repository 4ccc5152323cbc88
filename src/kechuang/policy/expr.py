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

from kechuang.kit import expressions as kx

FUNCTIONS = {
    "sum3": (1, 1), "sumn": (2, 2), "avg3": (1, 1), "lag": (2, 2), "growth3": (1, 1),
    "max": (1, 9), "min": (1, 9), "if": (3, 3), "days_since": (1, 1), "one_of": (2, 100),
    "known": (1, 1), "starts_with": (2, 100), "policy": (1, 1),
}


class ExprError(ValueError):
    """A malformed expression; the message says where (character position) and why."""


# the shared parser's node classes (kechuang.kit.expressions), used as they are
Num = kx.Number
Str = kx.String
Var = kx.Name
Call = kx.Call  # .func, .args
Bin = kx.Binary  # .op, .left, .right
Unary = kx.Unary  # .op ("not" or "-"), .operand
Node = kx.Node

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


def parse(text: str | float | int | bool) -> Node:
    """Parse an expression; numbers written directly in YAML are accepted as constants."""
    if isinstance(text, bool):
        return Num(1.0 if text else 0.0)
    if isinstance(text, int | float):
        return Num(float(text))
    return LANGUAGE.parse(str(text))


def names(node: Node) -> set[str]:
    """Every variable name the expression reads (to check references when loading)."""
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Call):
        return set().union(*(names(a) for a in node.args))
    if isinstance(node, Bin):
        return names(node.left) | names(node.right)
    if isinstance(node, Unary):
        return names(node.operand)
    return set()


#: years before the evaluation year each windowed function reads, beyond its argument's
_WINDOW = {"sum3": 2, "avg3": 2, "growth3": 2}


def lookback(node: Node) -> int:
    """How many years before the evaluation year the expression reads (``sumn(x, 5)``: 4,
    ``lag(x, 2)``: 2, nested windows add up), so a run reads every year its rules need."""
    if isinstance(node, Call):
        inner = max((lookback(a) for a in node.args), default=0)
        if node.func == "sumn" and isinstance(node.args[1], Num):
            return inner + int(node.args[1].value) - 1
        if node.func == "lag" and isinstance(node.args[1], Num):
            return inner + int(node.args[1].value)
        return inner + _WINDOW.get(node.func, 0)
    if isinstance(node, Bin):
        return max(lookback(node.left), lookback(node.right))
    if isinstance(node, Unary):
        return lookback(node.operand)
    return 0


def policy_refs(node: Node) -> list[Node]:
    """Every ``policy(...)`` call of the expression (to resolve and check references)."""
    if isinstance(node, Call):
        own = [node] if node.func == "policy" else []
        return own + [c for a in node.args for c in policy_refs(a)]
    if isinstance(node, Bin):
        return policy_refs(node.left) + policy_refs(node.right)
    if isinstance(node, Unary):
        return policy_refs(node.operand)
    return []
