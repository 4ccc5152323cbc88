"""Facts for the eligibility-run tests, imported through the real intake service.

The same values are kept here as plain metric-code records, so that a test can evaluate
them through the file-based engine (``policy eval``'s path) independently of the database
and compare with what a run persisted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.ingest.service import do_import
from tests.ingest.helpers import csv_bytes
from tests.support.seed import ENTERPRISES, HOME_COUNTY, OTHER_COUNTY, uscc

AS_OF = date(2025, 3, 1)  # evaluation year 2024; inputs 2022–2024
YEARS = (2022, 2023, 2024)
U1, U2, U3, U4 = (uscc(n) for n in (1, 2, 3, 4))
U5 = uscc(5, OTHER_COUNTY)

TAX = ["统一社会信用代码", "年度", "营业收入（万元）", "研发费用（万元）", "境内研发费用（万元）",
       "成本费用总额（万元）", "资产总额（万元）", "负债总额（万元）",
       "高新技术产品（服务）收入（万元）", "收入总额（万元）", "不征税收入（万元）"]
TAX_CODES = ["revenue", "rd_expense", "rd_expense_domestic", "total_costs", "total_assets",
             "total_liabilities", "high_tech_revenue", "total_income", "non_taxable_income"]
HRSS = ["统一社会信用代码", "年度", "参保职工人数", "科技人员数"]
QUAL = ["统一社会信用代码", "高新技术企业证书有效期至",
        "主要产品技术属于国家重点支持的高新技术领域", "研发机构级别"]

#: (uscc, year) → tax values; U1 a strong R&D enterprise, U2 with R&D at 2.7% of 9,800万,
#: U3 with one year only (and a value using every decimal place), U5 in the other county
TAX_ROWS: dict[tuple[str, int], list[str]] = {}
for y, grow in zip(YEARS, (1.0, 1.2, 1.5), strict=True):
    TAX_ROWS[(U1, y)] = [str(round(5000 * grow, 2)), str(round(400 * grow, 2)),
                         str(round(400 * grow, 2)), "4000", str(8000 * grow), "3000",
                         str(round(4000 * grow, 2)), str(round(5100 * grow, 2)), "0"]
    TAX_ROWS[(U2, y)] = ["9800", "264.6", "264.6", "9000", "12000", "5000", "3000", "9900", "0"]
    TAX_ROWS[(U5, y)] = ["3000", "150", "150", "2800", "4000", "1000", "2000", "3000", "0"]
TAX_ROWS[(U3, 2024)] = ["1234.567891", "", "", "", "", "", "", "", ""]

HRSS_ROWS = {(u, y): row for y in YEARS for u, row in
             ((U1, ["100", "35"]), (U2, ["200", "15"]), (U5, ["50", "10"]))}
QUAL_ROWS = {U1: ["", "是", "省级"], U2: ["2026-12-31", "否", "无"], U5: ["", "是", "无"]}


def import_all(engine: Engine) -> None:
    """Import the three files through ``do_import`` as the command line would."""
    cli = Actor.command_line()
    tax = [TAX] + [[u, y, *vals] for (u, y), vals in TAX_ROWS.items()]
    hrss = [HRSS] + [[u, y, *vals] for (u, y), vals in HRSS_ROWS.items()]
    qual = [QUAL] + [[u, *vals] for u, vals in QUAL_ROWS.items()]
    for template, rows in (("tax", tax), ("hrss", hrss), ("kjj-qual", qual)):
        with unit_of_work(engine) as s:
            result = do_import(s, cli, csv_bytes(rows), f"{template}.csv", template)
            assert result.ok, (template, result.problems[:3] if result.problems else result)


def reference_table(usccs: list[str]) -> pd.DataFrame:
    """The same data as a ``policy eval`` input table (metric codes), built without the DB."""
    master = {uscc(n, HOME_COUNTY if region.startswith(HOME_COUNTY) else OTHER_COUNTY):
              (date(2010 + n, 3, n).isoformat(), industry, region)
              for n, _name, region, industry in ENTERPRISES}
    rows: list[dict[str, Any]] = []
    for u in usccs:
        for y in YEARS:
            row: dict[str, Any] = {"uscc": u, "year": y}
            for code, value in zip(TAX_CODES, TAX_ROWS.get((u, y), [""] * 9), strict=True):
                row[code] = float(value) if value else None
            hr = HRSS_ROWS.get((u, y))
            row["employees"] = float(hr[0]) if hr else None
            row["tech_staff"] = float(hr[1]) if hr else None
            qual = QUAL_ROWS.get(u)
            row["hte_cert_expires_on"] = (qual[0] or None) if qual else None
            row["in_key_tech_field"] = {"是": True, "否": False}[qual[1]] if qual else None
            row["rd_institution_level"] = ({"省级": "province", "无": "none"}[qual[2]]
                                           if qual else None)
            row["founded_on"], row["industry_code"], row["region_code"] = master[u]
            # list flags: not on the list unless a fact says so (the reader's documented rule)
            for flag in ("seriously_dishonest", "abnormal_operation",
                         "major_incident_last_year"):
                row[flag] = False
            rows.append(row)
    return pd.DataFrame(rows)
