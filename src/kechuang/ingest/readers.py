"""Reading uploaded files into sheets of rows, defensively.

Departments send CSV (UTF-8, UTF-8 with BOM or GB18030, as Excel in China writes it) and
XLSX. Files are untrusted: an XLSX is a zip and is checked for bombs *before* any parser
sees it; sizes and row counts are bounded; anything unreadable is refused with a Chinese
message that names the file.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from time import thread_time
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from kechuang.config import get_settings
from kechuang.kit.errors import InvalidInput

Cell = Any  # str | int | float | bool | datetime | None, or a Formula marker


class FileRefused(InvalidInput):
    """The whole file cannot be read (encoding, size, zip bomb, no header …)."""


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula cell: only values are accepted, so this is reported as a problem."""

    text: str


@dataclass
class Sheet:
    """One table of a file: the header and the data rows with their spreadsheet row numbers."""

    name: str
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)

    @property
    def letters(self) -> list[str]:
        return [get_column_letter(i + 1) for i in range(len(self.header))]


@dataclass
class Workbook:
    sheets: list[Sheet]
    notes: list[str] = field(default_factory=list)


ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and other OLE files
HEADER_SCAN_ROWS = 30
#: sheets of a downloaded blank template (``template_files``) that hold notes, not data
NOTES_SHEET = "说明 Notes"
CODES_SHEET = "代码 Codes"
TEMPLATE_AID_SHEETS = frozenset({NOTES_SHEET, CODES_SHEET})


def letter(index: int) -> str:
    return get_column_letter(index + 1)


def _header_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Formula):
        return value.text
    return str(value).strip()


def read_file(
    data: bytes,
    filename: str,
    is_header: Callable[[list[str]], bool],
    *,
    max_bytes: int,
    max_rows: int,
    max_unzipped: int,
    max_ratio: int,
) -> Workbook:
    """Read ``data`` into sheets. ``is_header`` recognises a header row (it must name the
    credit-code column); rows above it (titles, notes) are skipped."""
    if len(data) > max_bytes:
        raise FileRefused(
            f"文件“{filename}”过大：{len(data):,} 字节，上限 {max_bytes:,} 字节",
            f"File {filename} is too large: {len(data):,} bytes, limit {max_bytes:,}")
    if not data.strip():
        raise FileRefused(f"文件“{filename}”是空文件", f"File {filename} is empty")
    lower = filename.lower()
    if data.startswith(OLE_MAGIC):
        raise FileRefused(
            f"文件“{filename}”是旧版 Excel（.xls）或其他二进制文件；"
            "请在 Excel 中另存为 .xlsx 或 CSV",
            f"{filename} is a legacy .xls/OLE file; save it as .xlsx or CSV")
    if data.startswith(ZIP_MAGIC):
        return read_xlsx(data, filename, is_header, max_rows=max_rows,
                         max_unzipped=max_unzipped, max_ratio=max_ratio)
    if lower.endswith((".xlsx", ".xlsm")):
        raise FileRefused(f"文件“{filename}”不是有效的 XLSX 文件（不是 ZIP 格式）",
                          f"{filename} is not a valid XLSX file")
    return read_csv(data, filename, is_header, max_rows=max_rows)


# --- CSV -----------------------------------------------------------------------------------


def decode_text(data: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM), then GB18030 — strictly; anything else is refused."""
    nul = data.find(b"\x00")  # anywhere in the file, not only its first 64 KB (issue 17)
    if nul >= 0:
        raise FileRefused(
            f"文件“{filename}”不是文本文件（第 {nul + 1:,} 字节处含空字符 NUL），无法按 CSV "
            "读取；请上传 CSV 或 XLSX",
            f"{filename} is binary, not a CSV text file (a NUL at byte {nul + 1:,})")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"文件“{filename}”的编码无法识别（第 {exc.start + 1} 字节起）：只接受 UTF-8、"
            "带 BOM 的 UTF-8 或 GB18030/GBK 编码的 CSV",
            f"{filename}: unknown text encoding (only UTF-8, UTF-8 with BOM, GB18030)") from exc


def _too_many_columns(filename: str, rownum: int, n: int, limit: int) -> FileRefused:
    return FileRefused(
        f"文件“{filename}”第 {rownum} 行有 {n:,} 列，超过上限 {limit:,} 列（设置 "
        "import_max_columns）；请删去多余的列",
        f"{filename} row {rownum} has {n:,} columns, more than the limit of {limit:,}")


def header_only(filename: str) -> FileRefused:
    """A file with a header and no data row: an error, not an empty batch (issue 17)."""
    return FileRefused(f"文件“{filename}”只有表头，没有任何数据行",
                       f"{filename} has a header but no data rows")


def read_csv(data: bytes, filename: str, is_header: Callable[[list[str]], bool], *,
             max_rows: int) -> Workbook:
    max_columns = get_settings().import_max_columns
    text = decode_text(data, filename)
    sample = text[:4096]
    delimiter = ","
    if sample.count("\t") > sample.count(",") and sample.count("\t") > 0:
        delimiter = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    sheet_name = "CSV"
    header: list[str] | None = None
    header_row = 0
    rows: list[tuple[int, list[Cell]]] = []
    try:
        for rownum, record in enumerate(reader, start=1):
            if len(record) > max_columns:
                raise _too_many_columns(filename, rownum, len(record), max_columns)
            if header is None:
                cells = [c.strip() for c in record]
                if any(cells) and is_header(cells):
                    header, header_row = cells, rownum
                elif rownum >= HEADER_SCAN_ROWS:
                    break
                continue
            if not any(record):
                continue
            if len(rows) >= max_rows:
                raise FileRefused(
                    f"文件“{filename}”的数据行超过上限 {max_rows:,} 行；请拆分后分批导入",
                    f"{filename} has more than {max_rows:,} data rows; split it")
            rows.append((rownum, record))
    except csv.Error as exc:
        raise FileRefused(f"文件“{filename}”不是有效的 CSV：{exc}",
                          f"{filename} is not valid CSV: {exc}") from exc
    if header is None:
        raise FileRefused(
            f"文件“{filename}”未找到表头：前 {HEADER_SCAN_ROWS} 行中没有含“统一社会信用代码”"
            "（或模板中其别名）的表头行",
            f"{filename}: no header row naming the credit-code column was found")
    return Workbook([Sheet(sheet_name, header, header_row, rows)])


# --- XLSX ----------------------------------------------------------------------------------


def check_zip(data: bytes, filename: str, *, max_unzipped: int, max_ratio: int) -> None:
    """Refuse zip bombs from the central directory alone, before decompressing anything.

    Python's zip reader never returns more bytes than a member's declared size, so checking
    the declared sizes bounds what the parser can be made to inflate.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileRefused(f"文件“{filename}”不是有效的 XLSX 文件（ZIP 结构损坏）",
                          f"{filename} is not a valid XLSX (broken zip)") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > 10_000:
            raise FileRefused(f"文件“{filename}”包含的内部文件过多（{len(infos)} 个），已拒绝",
                              f"{filename} has too many members")
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1_000_000 and ratio > max_ratio:
                raise FileRefused(
                    f"文件“{filename}”疑似压缩炸弹：内部文件“{info.filename}”"
                    f"压缩比 {ratio:,.0f}:1，"
                    f"超过上限 {max_ratio}:1，已拒绝",
                    f"{filename} looks like a zip bomb ({info.filename} ratio {ratio:,.0f}:1)")
        if total > max_unzipped:
            raise FileRefused(
                f"文件“{filename}”解压后 {total:,} 字节，超过上限 {max_unzipped:,} 字节，已拒绝",
                f"{filename} unpacks to {total:,} bytes, over the limit {max_unzipped:,}")
        names = {i.filename for i in infos}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise FileRefused(f"文件“{filename}”是 ZIP 文件，但不是 Excel 工作簿（.xlsx）",
                              f"{filename} is a zip file but not an Excel workbook")


def _cell_value(cell: Any) -> Cell:
    value = cell.value
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(value))
    if isinstance(value, str) and value.startswith("=") and getattr(cell, "data_type", "") == "f":
        return Formula(value)
    return value


def read_xlsx(data: bytes, filename: str, is_header: Callable[[list[str]], bool], *,
              max_rows: int, max_unzipped: int, max_ratio: int) -> Workbook:
    check_zip(data, filename, max_unzipped=max_unzipped, max_ratio=max_ratio)
    try:
        # read-only streams the sheets; data_only=False keeps formulas visible (so they can
        # be reported); keep_vba=False drops macros; keep_links=False ignores external links
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_vba=False,
                           keep_links=False)
    except Exception as exc:  # openpyxl raises many types on malformed files
        raise FileRefused(f"文件“{filename}”无法作为 XLSX 读取：{type(exc).__name__}",
                          f"{filename} cannot be read as XLSX: {exc}") from exc
    sheets: list[Sheet] = []
    notes: list[str] = []
    total_rows = 0
    settings = get_settings()
    max_columns, budget = settings.import_max_columns, settings.import_max_seconds
    started = thread_time()  # CPU time of this thread: a budget, not a wall-clock race
    try:
        for ws in wb.worksheets:
            if ws.title in TEMPLATE_AID_SHEETS:
                continue  # the notes and codes of a downloaded blank template are no data
            sheet = None
            scanned = 0
            declared = ws.max_column or 0  # the sheet's dimension, before any row is built
            if declared > max_columns:
                raise _too_many_columns(filename, 1, declared, max_columns)
            for row in ws.iter_rows():
                if len(row) > max_columns:
                    raise _too_many_columns(filename, row[0].row if row else 0, len(row),
                                            max_columns)
                if total_rows % 1000 == 0 and thread_time() - started > budget:
                    raise FileRefused(
                        f"读取文件“{filename}”超过 {budget:g} 秒 CPU 时间上限（设置 "
                        "import_max_seconds）；请拆分后分批导入",
                        f"Reading {filename} exceeded its CPU budget of {budget:g} s; split it")
                values = [_cell_value(c) for c in row]
                rownum = next((c.row for c in row if getattr(c, "row", None)), None)
                if rownum is None or all(v is None or (isinstance(v, str) and not v.strip())
                                         for v in values):
                    continue
                if sheet is None:
                    scanned += 1
                    texts = [_header_text(v) for v in values]
                    if is_header(texts):
                        while texts and not texts[-1]:
                            texts.pop()
                        sheet = Sheet(ws.title, texts, rownum)
                    elif scanned >= HEADER_SCAN_ROWS:
                        break
                    continue
                total_rows += 1
                if total_rows > max_rows:
                    raise FileRefused(
                        f"文件“{filename}”的数据行超过上限 {max_rows:,} 行；请拆分后分批导入",
                        f"{filename} has more than {max_rows:,} data rows; split it")
                sheet.rows.append((rownum, values))
            if sheet is None:
                if scanned:
                    notes.append(f"工作表“{ws.title}”中未找到含统一社会信用代码的表头行，已跳过")
            else:
                sheets.append(sheet)
    finally:
        wb.close()
    if not sheets:
        raise FileRefused(
            f"文件“{filename}”未找到表头：没有任何工作表含“统一社会信用代码”（或模板中其别名）的表头行",
            f"{filename}: no sheet has a header row naming the credit-code column")
    return Workbook(sheets, notes)


def iter_cells(sheet: Sheet) -> Iterator[tuple[int, int, Cell]]:
    for rownum, values in sheet.rows:
        for i, v in enumerate(values):
            yield rownum, i, v


def is_temporal(value: Cell) -> bool:
    return isinstance(value, datetime | date | time)
