"""Cell parsers: numbers, dates, booleans and periods as Chinese spreadsheets write them.

Each parser takes the raw cell (text from CSV; int, float, bool, datetime or text from XLSX)
and returns the value or raises :class:`CellError` with the reason in Chinese. They are on
the hot path (a million cells per import), so the common case is one regex and one
constructor call.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any


class CellError(ValueError):
    """Why one cell is invalid (Chinese)."""


_NUM_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?\Z")
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\Z")
_FULLWIDTH_NUM = str.maketrans({
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "．": ".", "，": ",", "－": "-", "＋": "+", "\u3000": "", " ": "", "\xa0": "",
    "\u2212": "-", "、": ",",
})


def show(raw: Any) -> str:
    """A cell as the problem report shows it."""
    if raw is None:
        return ""
    if isinstance(raw, datetime):
        return raw.strftime("%Y-%m-%d %H:%M:%S").removesuffix(" 00:00:00")
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    text = str(raw)
    return text if len(text) <= 120 else text[:117] + "…"


def parse_number(raw: Any) -> Decimal:
    """``1234.5``, `` 1,234.5 ``, ``１２３４``, ``-12``, ``1.2E+5``; never text, dates or flags."""
    kind = type(raw)
    if kind is str:
        s = raw.strip()
        if _NUM_RE.match(s):
            return Decimal(s)
        t = s.translate(_FULLWIDTH_NUM)
        if _NUM_RE.match(t):
            return Decimal(t)
        if _THOUSANDS_RE.match(t):
            return Decimal(t.replace(",", ""))
        raise CellError(f"应为数字，实为文本“{show(raw)}”")
    if kind is int:
        return Decimal(raw)
    if kind is float:
        if not math.isfinite(raw):
            raise CellError("应为有限的数字")
        return Decimal(repr(raw))
    if kind is bool:
        raise CellError("应为数字，实为逻辑值")
    if isinstance(raw, datetime | date):
        raise CellError("应为数字，实为日期")
    if isinstance(raw, Decimal):
        return raw
    raise CellError(f"应为数字，实为“{show(raw)}”")


_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\Z"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?\Z"),
    re.compile(r"(\d{4})(\d{2})(\d{2})\Z"),
)
MIN_YEAR, MAX_YEAR = 1900, 2100


def _from_serial(n: float) -> date:
    if not (1 <= n < 73051) or not float(n).is_integer():  # 73051 = 2100-01-01
        raise CellError(f"日期序号“{show(n)}”无效（应为 Excel 日期或 2023-01-05 格式）")
    return _EXCEL_EPOCH + timedelta(days=int(n))


def parse_date(raw: Any) -> date:
    """``2023-01-05``, ``2023/1/5``, ``2023年1月5日``, ``20230105``, Excel serials, XLSX dates."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, bool):
        raise CellError("应为日期，实为逻辑值")
    if isinstance(raw, int | float):
        return _from_serial(raw)
    s = str(raw).strip().translate(_FULLWIDTH_NUM)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            if not MIN_YEAR <= y <= MAX_YEAR:
                raise CellError(f"日期“{show(raw)}”的年份超出 {MIN_YEAR}–{MAX_YEAR}")
            try:
                return date(y, mo, d)
            except ValueError as exc:
                raise CellError(f"日期“{show(raw)}”不存在") from exc
    if s.isdigit() and len(s) <= 5:
        return _from_serial(int(s))
    raise CellError(f"日期格式无法识别：“{show(raw)}”（应为 2023-01-05、2023/1/5 或 2023年1月5日）")


_TRUE = frozenset({"是", "true", "1", "yes", "y", "t", "√", "有", "真"})
_FALSE = frozenset({"否", "false", "0", "no", "n", "f", "×", "无", "假"})


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    s = str(raw).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise CellError(f"应为 是/否（或 true/false、1/0），实为“{show(raw)}”")


_YEAR_RE = re.compile(r"(\d{4})(?:年度?)?\Z")
_MONTH_RE = (
    re.compile(r"(\d{4})[-/.](\d{1,2})\Z"),
    re.compile(r"(\d{4})年(\d{1,2})月(?:份)?\Z"),
    re.compile(r"(\d{4})(\d{2})\Z"),
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.]0?1(?:[ T]00:00(?::00)?)?\Z"),
)


def parse_period(raw: Any) -> tuple[int, int | None]:
    """A year (``2023``, ``2023年``) or a month (``2023-05``, ``2023/5``, ``2023年5月``,
    ``202305``, an XLSX date): returns (year, month or None)."""
    if isinstance(raw, datetime | date):
        return raw.year, raw.month
    if isinstance(raw, bool):
        raise CellError("期间应为年份或年月，实为逻辑值")
    if isinstance(raw, int | float):
        if not float(raw).is_integer():
            raise CellError(f"期间“{show(raw)}”应为年份（2023）或年月（2023-05）")
        raw = str(int(raw))
    s = str(raw).strip().translate(_FULLWIDTH_NUM)
    m = _YEAR_RE.match(s)
    if m:
        y = int(m.group(1))
        if not MIN_YEAR <= y <= MAX_YEAR:
            raise CellError(f"年份“{show(raw)}”超出 {MIN_YEAR}–{MAX_YEAR}")
        return y, None
    for pattern in _MONTH_RE:
        m = pattern.match(s)
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
            if not MIN_YEAR <= y <= MAX_YEAR:
                raise CellError(f"年份“{show(raw)}”超出 {MIN_YEAR}–{MAX_YEAR}")
            if not 1 <= mo <= 12:
                raise CellError(f"月份“{show(raw)}”无效（应为 1–12 月）")
            return y, mo
    raise CellError(f"期间格式无法识别：“{show(raw)}”（年度写 2023，月份写 2023-05）")


def text_of(raw: Any) -> str:
    """A text cell; numbers typed into XLSX (certificate numbers, codes) lose no digits."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    return str(raw).strip()


def is_blank(raw: Any) -> bool:
    return raw is None or (type(raw) is str and not raw.strip())


def to_decimal_safe(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
