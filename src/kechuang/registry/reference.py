"""Loading reference data (regions, industries, departments, metrics) into the database, and
validating codes against it."""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from kechuang.models import Department, Industry, Metric, Region
from kechuang.registry import repository as repo
from kechuang.registry.catalogue import DATA_DIR, load_catalogue

REGIONS_DIR = DATA_DIR / "regions"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def region_rows() -> list[dict[str, str | None]]:
    """The whole GB/T 2260 tree down to towns and parks, root first (parents before children)."""
    rows: list[dict[str, str | None]] = []
    for p in _read_csv(REGIONS_DIR / "provinces.csv"):
        code = p["code"] + "0000"
        rows.append(dict(code=code, name=p["name"], level="province", parent_code=None,
                         path=f"/{code}/"))
    paths: dict[str, str] = {str(r["code"]): str(r["path"]) for r in rows}
    for c in _read_csv(REGIONS_DIR / "cities.csv"):
        code, parent = c["code"] + "00", c["provinceCode"] + "0000"
        paths[code] = f"{paths[parent]}{code}/"
        rows.append(dict(code=code, name=c["name"], level="city", parent_code=parent,
                         path=paths[code]))
    for a in _read_csv(REGIONS_DIR / "areas.csv"):
        code, parent = a["code"], a["cityCode"] + "00"
        if code in paths:  # cities without counties (东莞, 中山, 儋州) list themselves again
            continue
        paths[code] = f"{paths[parent]}{code}/"
        rows.append(dict(code=code, name=a["name"], level="county", parent_code=parent,
                         path=paths[code]))
    for s in _read_csv(REGIONS_DIR / "streets.csv"):
        code, parent = s["code"], s["areaCode"]
        if parent not in paths:
            continue
        # NBS township codes 400-599 are development zones, parks and farms (园区/开发区)
        level = "park" if int(code[6:]) >= 400 else "town"
        rows.append(dict(code=code, name=s["name"], level=level, parent_code=parent,
                         path=f"{paths[parent]}{code}/"))
    return rows


def industry_rows() -> list[dict[str, object]]:
    rows = []
    for r in _read_csv(DATA_DIR / "gbt4754_2017.csv"):
        rows.append(dict(code=r["code"], level=int(r["level"]), name=r["name"],
                         parent_code=r["parent"] or None, section=r["section"]))
    return rows


def load_reference_data(session: Session) -> dict[str, int]:
    """Insert whatever reference rows are missing; existing rows are left as they are."""
    metrics, departments = load_catalogue()
    added: dict[str, int] = {}

    have = repo.existing_codes(session, Department)
    new = [dict(code=d.code, name_zh=d.name_zh, name_en=d.name_en)
           for d in departments.values() if d.code not in have]
    if new:
        repo.insert_rows(session, Department, new)
    added["departments"] = len(new)

    have = repo.existing_codes(session, Metric)
    new_metrics = [
        dict(id=m.id, code=m.code, name_zh=m.name_zh, name_en=m.name_en, unit=m.unit,
             period_type=m.period_type, value_type=m.value_type,
             allowed_values=list(m.allowed_values) if m.allowed_values else None,
             min_value=m.min_value, max_value=m.max_value, source_departments=list(m.sources),
             note=m.note, builtin=m.builtin)
        for m in metrics.values() if m.code not in have
    ]
    if new_metrics:
        repo.insert_rows(session, Metric, new_metrics)
    added["metrics"] = len(new_metrics)

    have = repo.existing_codes(session, Industry)
    new_industries = [r for r in industry_rows() if r["code"] not in have]
    if new_industries:
        repo.insert_rows(session, Industry, new_industries)
    added["industries"] = len(new_industries)

    have = repo.existing_codes(session, Region)
    new_regions = [r for r in region_rows() if r["code"] not in have]
    repo.insert_rows(session, Region, new_regions)
    added["regions"] = len(new_regions)
    session.flush()
    return added


_INDUSTRY_RE = re.compile(r"^([A-T])?(\d{2,4})?$")


@lru_cache(maxsize=1)
def industry_index() -> dict[str, tuple[str, str]]:
    """code → (section, name) for every level of GB/T 4754-2017."""
    return {str(r["code"]): (str(r["section"]), str(r["name"])) for r in industry_rows()}


def normalise_industry_code(raw: str) -> tuple[str | None, str | None]:
    """Accept ``C3911``, ``C39``, ``3911`` or ``C``; return (canonical code, problem in Chinese).

    The canonical code is the digits (or the section letter alone); a section letter that does
    not match the digits' section is an error.
    """
    text = raw.strip().upper().replace(" ", "")
    m = _INDUSTRY_RE.match(text)
    if not text or not m:
        return None, f"行业代码“{raw}”格式不符合 GB/T 4754-2017（门类字母加2至4位数字）"
    letter, digits = m.group(1), m.group(2)
    index = industry_index()
    if digits is None:
        return (letter, None) if letter in index else (None, f"门类“{letter}”不存在")
    if digits not in index:
        return None, f"行业代码“{raw}”不在 GB/T 4754-2017 分类中"
    section = index[digits][0]
    if letter and letter != section:
        return None, f"行业代码“{raw}”门类字母错误：{digits} 属于门类 {section}"
    return digits, None


def display_industry_code(code: str | None) -> str:
    if not code:
        return ""
    if code.isalpha():
        return code
    return industry_index()[code][0] + code
