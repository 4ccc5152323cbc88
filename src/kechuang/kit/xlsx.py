"""Writing real .xlsx files with every text cell neutralised against formula injection."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from kechuang.kit.safe_export import neutralise_row


def write_xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """``sheets`` is a list of (title, header, rows); returns the file's bytes."""
    wb = Workbook(write_only=True)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.append([_header_cell(ws, h) for h in header])
        for row in rows:
            ws.append(neutralise_row(list(row)))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _header_cell(ws: Any, text: str) -> Any:
    cell = WriteOnlyCell(ws, value=text)
    cell.font = Font(bold=True)
    cell.fill = PatternFill("solid", fgColor="DDE7F0")
    return cell
