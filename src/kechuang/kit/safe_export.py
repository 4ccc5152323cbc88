"""Formula-injection neutralisation for every CSV and XLSX the platform writes (OWASP CSV
injection): a text cell that a spreadsheet would read as a formula gets a leading apostrophe."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kechuang.kit.errors import InvalidInput

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise(value: Any) -> Any:
    """Text starting with a formula trigger is prefixed with ``'``; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def neutralise_row(row: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [neutralise(v) for v in row]


def write_csv(path: str | Path, header: Sequence[Any], rows: Iterable[Sequence[Any]], *,
              encoding: str = "utf-8") -> int:
    """Write a CSV that nobody sees half-written: a temporary file in the same folder,
    renamed into place at the end (removed if anything fails). Every cell is neutralised.
    Returns the number of data rows written."""
    target = Path(path)
    directory = target.resolve().parent
    if not directory.is_dir():
        raise InvalidInput(f"输出目录 {directory} 不存在", f"Output folder {directory} missing")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".part")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(neutralise_row(list(header)))
            for row in rows:
                writer.writerow(neutralise_row(list(row)))
                count += 1
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
