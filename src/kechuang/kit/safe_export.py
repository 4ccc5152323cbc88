"""Formula-injection neutralisation for every CSV and XLSX the platform writes (OWASP CSV
injection): a text cell that a spreadsheet would read as a formula gets a leading apostrophe."""

from __future__ import annotations

from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise(value: Any) -> Any:
    """Text starting with a formula trigger is prefixed with ``'``; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def neutralise_row(row: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [neutralise(v) for v in row]
