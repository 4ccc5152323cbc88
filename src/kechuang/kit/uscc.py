"""Unified social credit code (统一社会信用代码), GB 32100-2015.

Eighteen characters from a 31-symbol alphabet (digits and capitals without I, O, Z, S, V);
the 18th is a check character: ``31 - (Σ wᵢ·cᵢ mod 31)`` over the first 17 with the weights
of GB 32100-2015 §4.2 (``3^(i-1) mod 31``), 31 itself written as ``0``.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(first17: str) -> str:
    """The check character for the first 17 characters (which must be valid symbols)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, in Chinese, or ``None`` when it is valid."""
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实为{len(code)}位"
    bad = [ch for ch in code if ch not in _VALUE]
    if bad:
        return f"统一社会信用代码含非法字符“{bad[0]}”（不得含 I、O、Z、S、V 或小写字母）"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：第18位应为“{expected}”，实为“{code[17]}”"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None


def make_uscc(first17: str) -> str:
    return first17 + check_char(first17)
