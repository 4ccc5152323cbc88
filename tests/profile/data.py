"""A small county for the profile tests: the seed's four 张家港 enterprises plus ten more,
three years of facts imported through the real intake service, scored by real runs.

The values are kept here as plain metric-code records so that a test can build the
engine's input without the database and compute reference numbers independently.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.ingest.service import do_import
from kechuang.models import Enterprise
from tests.ingest.helpers import csv_bytes
from tests.support.seed import ENTERPRISES, HOME_COUNTY, HOME_PARK, HOME_TOWN, uscc

YEARS = (2022, 2023, 2024)
EXTRA = [(n, "3973" if n % 2 else "6513", HOME_TOWN if n % 3 else HOME_PARK)
         for n in range(11, 21)]
#: the enterprises of 张家港 (n → industry code)
HOME = {n: ind for n, _name, region, ind in ENTERPRISES if region.startswith(HOME_COUNTY)}
HOME.update({n: ind for n, ind, _region in EXTRA})
SECTION = {"3973": "C", "2651": "C", "3421": "C", "6513": "I"}

TAX_CODES = ["revenue", "rd_expense", "rd_expense_domestic", "total_costs", "total_assets",
             "total_liabilities", "high_tech_revenue", "total_income", "non_taxable_income",
             "tax_paid"]
TAX = ["统一社会信用代码", "年度", "营业收入（万元）", "研发费用（万元）", "境内研发费用（万元）",
       "成本费用总额（万元）", "资产总额（万元）", "负债总额（万元）",
       "高新技术产品（服务）收入（万元）", "收入总额（万元）", "不征税收入（万元）",
       "纳税总额（万元）"]
KJJ_CODES = ["employees", "tech_staff", "rd_staff", "phd_staff", "transformations",
             "standards_led", "awards_national", "tech_contract_value"]
HRSS = ["统一社会信用代码", "年度", "参保职工人数"]
KJJ = ["统一社会信用代码", "年度", "科技人员数", "研发人员数", "博士人数", "科技成果转化数",
       "主导制定标准数", "国家级科技奖励数", "技术合同成交额（万元）"]
IP_CODES = {"class1_ip": "Ⅰ类知识产权", "class2_ip": "Ⅱ类知识产权"}

#: U3 is built for the HTE threshold: revenue 1,000万 a year, R&D 49万 a year — 4.9% of
#: three years' revenue, so +3万 in the latest year makes exactly 5% (the ≤ 5,000万 rule)
HTE_N = 3


def values() -> dict[tuple[int, int], dict[str, float]]:
    """(n, year) → metric → value, deterministic."""
    rng = np.random.default_rng(20241122)
    out: dict[tuple[int, int], dict[str, float]] = {}
    for n in sorted(HOME):
        base = float(rng.integers(800, 30000))
        share = float(rng.integers(10, 80)) / 1000
        staff = int(rng.integers(30, 400))
        for k, y in enumerate(YEARS):
            grow = 1 + 0.1 * k * (1 + n % 3)
            revenue = round(base * grow, 2)
            rd = round(revenue * share, 2)
            row = {
                "revenue": revenue, "rd_expense": rd, "rd_expense_domestic": round(rd * 0.9, 2),
                "total_costs": round(revenue * 0.8, 2), "total_assets": round(revenue * 1.5, 2),
                "total_liabilities": round(revenue * 0.5, 2),
                "high_tech_revenue": round(revenue * 0.7, 2), "total_income": revenue,
                "non_taxable_income": 0.0, "tax_paid": round(revenue * 0.05, 2),
                "employees": float(staff + 5 * k), "tech_staff": float(staff // 5 + k),
                "rd_staff": float(staff // 8 + k), "phd_staff": float(n % 4),
                "transformations": float(n % 6), "standards_led": float(n % 2),
                "awards_national": 0.0, "tech_contract_value": float(10 * (n % 5)),
                "class1_ip": float(n % 3), "class2_ip": float(n % 7),
            }
            out[(n, y)] = row
    for y in YEARS:
        out[(HTE_N, y)].update({
            "revenue": 1000.0, "rd_expense": 49.0, "rd_expense_domestic": 49.0,
            "total_costs": 900.0, "total_assets": 2000.0, "total_liabilities": 500.0,
            "high_tech_revenue": 800.0, "total_income": 1000.0, "non_taxable_income": 0.0,
            "employees": 50.0, "tech_staff": 10.0, "rd_staff": 8.0, "class1_ip": 1.0,
            "class2_ip": 2.0, "transformations": 6.0,
        })
    return out


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


def add_enterprises(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        for n, industry, region in EXTRA:
            s.add(Enterprise(uscc=uscc(n), name=f"张家港测试企业{n}号有限公司",
                             region_code=region, industry_code=industry,
                             founded_on=date(2012, 1, n), size_class="small"))


def import_all(engine: Engine, data: dict[tuple[int, int], dict[str, float]] | None = None
               ) -> dict[tuple[int, int], dict[str, float]]:
    """Add the extra enterprises and import every value through ``do_import``."""
    data = data or values()
    add_enterprises(engine)
    cli = Actor.command_line()
    tax = [TAX] + [[uscc(n), y, *(_fmt(v[c]) for c in TAX_CODES)]
                   for (n, y), v in sorted(data.items())]
    hrss = [HRSS] + [[uscc(n), y, _fmt(v["employees"])] for (n, y), v in sorted(data.items())]
    kjj = [KJJ] + [[uscc(n), y, *(_fmt(v[c]) for c in KJJ_CODES[1:])]
                   for (n, y), v in sorted(data.items())]
    ip = [["统一社会信用代码", "年度", "指标", "数值"]] + [
        [uscc(n), y, label, _fmt(v[code])] for (n, y), v in sorted(data.items())
        for code, label in IP_CODES.items()]
    qual = [["统一社会信用代码", "主要产品技术属于国家重点支持的高新技术领域", "研发机构级别"],
            [uscc(HTE_N), "是", "无"]]
    for template, rows in (("tax", tax), ("hrss", hrss), ("kjj", kjj), ("ip", ip),
                           ("kjj-qual", qual)):
        with unit_of_work(engine) as s:
            result = do_import(s, cli, csv_bytes(rows), f"{template}.csv", template)
            assert result.ok, (template, result.problems[:3] if result.problems else result)
    return data


def engine_table(data: dict[tuple[int, int], dict[str, float]],
                 changes: dict[tuple[int, int, str], float] | None = None) -> pd.DataFrame:
    """The engine's input built from the records alone (no database): uscc, year, every
    metric, the industry section from the GB/T 4754 code."""
    rows: list[dict[str, Any]] = []
    for (n, y), v in sorted(data.items()):
        row: dict[str, Any] = {"uscc": uscc(n), "year": y, **v,
                               "industry_section": SECTION[HOME[n]]}
        for (cn, cy, code), new in (changes or {}).items():
            if (cn, cy) == (n, y):
                row[code] = new
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("pct_applications", "awards_provincial"):
        frame[col] = np.nan  # no such facts were imported
    return frame
