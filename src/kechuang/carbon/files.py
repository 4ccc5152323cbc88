"""The ``kechuang carbon grade`` file formats (docs/cli/carbon.md is the user's contract).

MONTHLY.csv ``uscc,name,industry_code,region_code,period,energy_tce,co2_t,value_added_wan``
(``name`` may be left out; extra columns are ignored). BENCHMARKS.csv
``industry_code,benchmark``. GRADES.csv :data:`~kechuang.carbon.engine.OUTPUT_COLUMNS`.

CSV in UTF-8 (with or without BOM) or GB18030. Every problem names the file, the row (the
header is row 1, as a spreadsheet numbers it) and the column, in Chinese and English; up to
:data:`MAX_PROBLEMS` are listed at once, and nothing is written.

Missing and zero: an empty ``co2_t`` or ``value_added_wan`` is *missing* (the month gets no
intensity and no grade); ``0`` is a value (zero CO₂ gives intensity 0; zero value added
gives no intensity, as does a negative value added — a loss-making month is not graded).
An empty ``energy_tce`` is missing and allowed (energy is not used in the grade); a
negative energy or CO₂ is an error.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from kechuang.carbon.engine import OUTPUT_COLUMNS
from kechuang.kit.csvfile import decode
from kechuang.kit.errors import InvalidInput
from kechuang.kit.safe_export import write_csv
from kechuang.registry.reference import industry_index, normalise_industry_code

MONTHLY_REQUIRED = ("uscc", "industry_code", "region_code", "period", "energy_tce", "co2_t",
                    "value_added_wan")
MONTHLY_OPTIONAL = ("name",)
BENCHMARK_REQUIRED = ("industry_code", "benchmark")
NUMBER_COLUMNS = ("energy_tce", "co2_t", "value_added_wan")
NON_NEGATIVE = ("energy_tce", "co2_t")
MAX_PROBLEMS = 10
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str, str, str]] = []

    def add(self, row: int, column: str, zh: str, en: str) -> None:
        self.items.append((row, column, zh, en))

    def add_many(self, rows: np.ndarray, column: str, values: np.ndarray, zh: str,
                 en: str) -> None:
        for r, v in zip(rows[:MAX_PROBLEMS].tolist(), values[:MAX_PROBLEMS].tolist(),
                        strict=True):
            self.add(int(r), column, zh.format(v=v), en.format(v=v))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        items = sorted(self.items)[:MAX_PROBLEMS]
        zh = [f"文件 {self.path.name} 第 {r} 行 {c} 列：{m}" for r, c, m, _ in items]
        en = [f"{self.path.name} row {r} column {c}: {m}" for r, c, _, m in items]
        more = len(self.items) - len(items)
        if more > 0:
            zh.append(f"……另有 {more} 处问题")
            en.append(f"… and {more} more")
        raise InvalidInput("\n".join(zh), "\n".join(en), problems=len(self.items))


def _read_table(path: Path, required: tuple[str, ...], optional: tuple[str, ...]
                ) -> pd.DataFrame:
    """All cells as stripped text, a ``row`` column with the spreadsheet row number; blank
    lines skipped; the header checked."""
    text = decode(path)
    if not text.strip():
        raise InvalidInput(f"文件 {path.name} 为空：需要表头 {','.join(required)} 和数据行。",
                           f"{path.name} is empty: needs the header {','.join(required)}.")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInput(f"文件 {path.name} 不是有效的 CSV：{exc}",
                           f"{path.name} is not valid CSV: {exc}") from exc
    header = [h.strip().lower() for h in records[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(
            f"文件 {path.name} 第 1 行（表头）缺少列：{'、'.join(missing)}；"
            f"需要 {','.join(required)}。",
            f"{path.name} row 1 (header) lacks column(s) {', '.join(missing)}.")
    cols = {c: header.index(c) for c in (*required, *optional) if c in header}
    width = max(cols.values()) + 1
    numbers: list[int] = []
    kept: list[list[str]] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) < width:
            record = record + [""] * (width - len(record))
        numbers.append(number)
        kept.append(record[:width])
    frame = pd.DataFrame(kept, columns=range(width), dtype=object) if kept else pd.DataFrame(
        columns=range(width), dtype=object)
    frame = pd.DataFrame({c: frame[i].astype(str).str.strip() for c, i in cols.items()})
    frame["row"] = np.array(numbers, dtype=np.int64)
    if frame.empty:
        raise InvalidInput(f"文件 {path.name} 只有表头，没有数据行。",
                           f"{path.name} has a header but no rows.")
    return frame


def _numbers(frame: pd.DataFrame, column: str, problems: _Problems) -> np.ndarray:
    text = frame[column]
    empty = (text == "").to_numpy()
    ok = text.str.match(_NUMBER).to_numpy() | empty
    bad = ~ok
    problems.add_many(frame["row"].to_numpy()[bad], column, text.to_numpy()[bad],
                      "“{v}”不是数字（不用千位分隔符）",
                      "{v!r} is not a number (no thousands separators)")
    values = pd.to_numeric(text.where(ok & ~empty, None), errors="coerce").to_numpy(np.float64)
    inf = np.isinf(values)
    problems.add_many(frame["row"].to_numpy()[inf], column, text.to_numpy()[inf],
                      "“{v}”超出数值范围", "{v!r} is out of range")
    return values


def _industry_codes(frame: pd.DataFrame, problems: _Problems, *, class_only: bool
                    ) -> np.ndarray:
    """Canonical codes (digits, or the section letter); unknown codes are problems."""
    uniques = frame["industry_code"].unique()
    canon: dict[str, str | None] = {}
    why: dict[str, str] = {}
    for raw in uniques.tolist():
        code, problem = normalise_industry_code(raw) if raw else (None, "行业代码为空")
        if code is not None and class_only and (code.isalpha() or len(code) != 4):
            code, problem = None, f"“{raw}”不是 4 位行业小类代码（GB/T 4754-2017）"
        canon[raw] = code
        if problem:
            why[raw] = problem
    mapped = frame["industry_code"].map(canon)
    bad = mapped.isna().to_numpy()
    for r, raw in zip(frame["row"].to_numpy()[bad][:MAX_PROBLEMS].tolist(),
                      frame["industry_code"].to_numpy()[bad][:MAX_PROBLEMS].tolist(),
                      strict=True):
        problems.add(int(r), "industry_code", why.get(raw, "未知行业代码"),
                     f"unknown industry code {raw!r} (GB/T 4754-2017)")
    return mapped.to_numpy(dtype=object)


def read_monthly(path: Path) -> pd.DataFrame:
    """MONTHLY.csv → the engine's input frame (plus ``row``, ``name``, ``energy_tce``);
    every problem of the file reported at once."""
    frame = _read_table(path, MONTHLY_REQUIRED, MONTHLY_OPTIONAL)
    problems = _Problems(path)
    rows = frame["row"].to_numpy()
    for column in ("uscc", "region_code"):
        empty = (frame[column] == "").to_numpy()
        problems.add_many(rows[empty], column, frame[column].to_numpy()[empty],
                          "不能为空", "must not be empty")
    period_text = frame["period"]
    parts = period_text.str.extract(_PERIOD)
    bad_period = parts[0].isna().to_numpy()
    problems.add_many(rows[bad_period], "period", period_text.to_numpy()[bad_period],
                      "“{v}”不是 YYYY-MM 格式的月份（如 2024-05）",
                      "{v!r} is not a month in the form YYYY-MM (e.g. 2024-05)")
    period = np.zeros(len(frame), dtype=np.int64)
    good = ~bad_period
    period[good] = (parts[0][good].astype(np.int64) * 100
                    + parts[1][good].astype(np.int64)).to_numpy()
    numbers = {c: _numbers(frame, c, problems) for c in NUMBER_COLUMNS}
    for column in NON_NEGATIVE:
        neg = numbers[column] < 0
        problems.add_many(rows[neg], column, frame[column].to_numpy()[neg],
                          "不能为负数（实为 {v}）", "must not be negative (got {v})")
    codes = _industry_codes(frame, problems, class_only=True)
    dup = frame.assign(p=period).duplicated(["uscc", "p"], keep="first").to_numpy() & good
    if dup.any():
        first = frame.assign(p=period).drop_duplicates(["uscc", "p"]).set_index(["uscc", "p"])
        for r, u, p in zip(rows[dup][:MAX_PROBLEMS].tolist(),
                           frame["uscc"].to_numpy()[dup][:MAX_PROBLEMS].tolist(),
                           period[dup][:MAX_PROBLEMS].tolist(), strict=True):
            was = int(first.loc[(u, p), "row"])
            month = f"{p // 100}-{p % 100:02d}"
            problems.add(int(r), "period", f"企业 {u} 的月份 {month} 与第 {was} 行重复",
                         f"enterprise {u} month {p // 100}-{p % 100:02d} repeats row {was}")
    problems.raise_if_any()
    return pd.DataFrame({
        "row": rows,
        "uscc": frame["uscc"].to_numpy(),
        "name": frame["name"].to_numpy() if "name" in frame else "",
        "class_code": codes,
        "region_code": frame["region_code"].to_numpy(),
        "period": period,
        "energy_tce": numbers["energy_tce"],
        "co2_t": numbers["co2_t"],
        "value_added_wan": numbers["value_added_wan"],
    })


def read_benchmarks(path: Path) -> dict[str, float]:
    """BENCHMARKS.csv → {canonical industry code (any level): benchmark > 0}."""
    frame = _read_table(path, BENCHMARK_REQUIRED, ())
    problems = _Problems(path)
    rows = frame["row"].to_numpy()
    codes = _industry_codes(frame, problems, class_only=False)
    values = _numbers(frame, "benchmark", problems)
    bad = ~(values > 0) & (frame["benchmark"] != "").to_numpy() & ~np.isnan(values)
    problems.add_many(rows[bad], "benchmark", frame["benchmark"].to_numpy()[bad],
                      "基准值必须大于 0（实为 {v}）", "the benchmark must be above 0 (got {v})")
    empty = (frame["benchmark"] == "").to_numpy()
    problems.add_many(rows[empty], "benchmark", frame["benchmark"].to_numpy()[empty],
                      "基准值为空", "empty benchmark")
    seen: dict[str, int] = {}
    for r, code in zip(rows.tolist(), codes.tolist(), strict=True):
        if code is None:
            continue
        if code in seen:
            problems.add(int(r), "industry_code", f"行业代码 {code} 与第 {seen[code]} 行重复",
                         f"industry code {code} repeats row {seen[code]}")
        else:
            seen[code] = int(r)
    problems.raise_if_any()
    return {str(c): float(v) for c, v in zip(codes.tolist(), values.tolist(), strict=True)}


def section_map(class_codes: np.ndarray) -> dict[str, str]:
    """Section letter of each class code, from the GB/T 4754-2017 table shipped in
    ``kechuang/registry/data/gbt4754_2017.csv``."""
    index = industry_index()
    return {str(c): index[str(c)][0] for c in pd.unique(class_codes)}


def format_number(values: np.ndarray) -> list[str]:
    """Full precision (the shortest text that reads back as the same float64), no exponent,
    no thousands separators; NaN → empty string."""
    return ["" if np.isnan(v) else np.format_float_positional(v, unique=True, trim="0")
            for v in values.tolist()]


def format_int(values: pd.Series) -> list[str]:
    return ["" if v is pd.NA else str(int(v)) for v in values.tolist()]


def write_grades(path: Path, frame: pd.DataFrame, result: pd.DataFrame) -> int:
    """GRADES.csv, rows ordered by (uscc, period), written atomically."""
    out = pd.concat([frame[["uscc", "period"]], result], axis=1)
    out = out.sort_values(["uscc", "period"], kind="stable")
    p = out["period"].to_numpy(dtype=np.int64)
    columns: dict[str, list[str]] = {
        "uscc": out["uscc"].astype(str).tolist(),
        "period": [f"{x // 100:04d}-{x % 100:02d}" for x in p.tolist()],
    }
    for c in ("intensity", "benchmark", "ratio"):
        columns[c] = format_number(out[c].to_numpy(dtype=np.float64))
    for c in ("carbon_level", "benchmark_level"):
        columns[c] = ["" if v is None or pd.isna(v) else str(v) for v in out[c].tolist()]
    for c in ("grade", "industry_rank", "industry_count", "region_rank", "region_count"):
        columns[c] = format_int(out[c])
    columns["alert"] = out["alert"].astype(str).tolist()
    rows = zip(*(columns[c] for c in OUTPUT_COLUMNS), strict=True)
    return write_csv(path, OUTPUT_COLUMNS, rows)
