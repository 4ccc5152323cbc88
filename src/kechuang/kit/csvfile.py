"""Reading the analysts' CSV files of the file-based commands (``match search``,
``dispatch``): UTF-8 (with or without BOM) or GB18030, a header row, errors that name the
file, the row (the header is row 1, as a spreadsheet numbers it) and the column, in
Chinese with English. Extra columns are ignored; blank lines are skipped."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from kechuang.kit.errors import InvalidInput

csv.field_size_limit(16 * 1024 * 1024)

Rows = list[tuple[int, dict[str, str]]]


def decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取文件 {path}：{exc.strerror}",
                           f"Cannot read {path}: {exc.strerror}") from exc
    for encoding in ("utf-8-sig", "gb18030"):  # UTF-8, else the encoding of Chinese Excel
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"文件 {path} 不是 UTF-8 或 GB18030 编码的文本。",
                       f"{path} is not UTF-8 or GB18030 text.")


def read_rows(path: Path, required: Sequence[str], optional: Sequence[str] = (), *,
              strip: bool = False, allow_empty: bool = False) -> Rows:
    """``(row number, {column: cell})`` for every non-blank data row; the required columns
    must be in the header (case-insensitive), optional ones are read when present."""
    text = decode(path)
    if not text.strip():
        raise InvalidInput(f"文件 {path} 为空：需要表头 {','.join(required)} 和数据行。",
                           f"{path} is empty: needs the header {','.join(required)} and rows.")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInput(f"文件 {path} 不是有效的 CSV：{exc}",
                           f"{path} is not valid CSV: {exc}") from exc
    header = [h.strip().lower() for h in records[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(
            f"文件 {path} 第 1 行（表头）缺少列：{'、'.join(missing)}；需要 {','.join(required)}。",
            f"{path} row 1 (header) lacks column(s) {', '.join(missing)}.")
    where = {c: header.index(c) for c in (*required, *optional) if c in header}
    rows: Rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) < len(header):
            record = record + [""] * (len(header) - len(record))
        rows.append((number, {c: record[i].strip() if strip else record[i]
                              for c, i in where.items()}))
    if not rows and not allow_empty:
        raise InvalidInput(f"文件 {path} 只有表头，没有数据行。",
                           f"{path} has a header but no rows.")
    return rows


def check_unique_ids(path: Path, rows: Rows, column: str = "id") -> None:
    """Every row has a non-empty ``column`` value, and no value repeats."""
    seen: dict[str, int] = {}
    for number, row in rows:
        ident = row[column].strip()
        if not ident:
            raise InvalidInput(f"文件 {path} 第 {number} 行 {column} 列：编号为空。",
                               f"{path} row {number} column {column}: empty id.")
        if ident in seen:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 {column} 列：编号“{ident}”与第 {seen[ident]} 行重复。",
                f"{path} row {number} column {column}: id {ident!r} repeats row {seen[ident]}.")
        seen[ident] = number
