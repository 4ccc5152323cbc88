"""Building import files and inspecting the database for the intake tests."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Engine, func, select, text

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.db import unit_of_work
from kechuang.ingest.schemas import ImportResult
from kechuang.ingest.service import do_import
from kechuang.models import Enterprise, Fact, ImportBatch, Region, User
from tests.support.seed import uscc

U1, U2, U3, U5 = uscc(1), uscc(2), uscc(3), uscc(5, "320581")
CLI = Actor.command_line()
TAX_HEADER = ["统一社会信用代码", "年度", "营业收入（万元）", "研发费用（元）", "职工人数"]
GOOD_ROWS = [TAX_HEADER, [U1, 2023, "1,234.5", "120000", 35], [U2, 2023, "500", "", 12]]


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, Sequence[Sequence[Any]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run_import(engine: Engine, data: bytes, template: str = "tax", *, filename: str = "f.csv",
               actor: Actor = CLI, **kw: Any) -> ImportResult:
    with unit_of_work(engine) as s:
        return do_import(s, actor, data, filename, template, **kw)


def user_actor(engine: Engine, username: str) -> Actor:
    with unit_of_work(engine) as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        path = s.scalar(select(Region.path).where(Region.code == user.region_code))
        return actor_for_user(user, path or "/")


def fact_state(engine: Engine) -> tuple[Any, ...]:
    """Counts and a checksum of every fact, enterprise and batch: 'exactly as before'."""
    with unit_of_work(engine) as s:
        facts = s.execute(text(
            "SELECT id, enterprise_id, metric_id, period, value_num, value_text, batch_id, "
            "is_current, superseded_by FROM fact ORDER BY id")).all()
        ents = s.execute(text("SELECT id, uscc, name, region_code, industry_code FROM enterprise "
                              "ORDER BY id")).all()
        batches = s.scalar(select(func.count()).select_from(ImportBatch))
    digest = hashlib.sha256(repr([tuple(map(str, r)) for r in facts]).encode()).hexdigest()
    edigest = hashlib.sha256(repr([tuple(map(str, r)) for r in ents]).encode()).hexdigest()
    return len(facts), digest, len(ents), edigest, batches


def current_value(engine: Engine, code: str, metric: str, period: int) -> Any:
    """The current value (Decimal or text) of one fact, or None."""
    with unit_of_work(engine) as s:
        mid = s.scalar(text("SELECT id FROM metric WHERE code = :m"), {"m": metric})
        row = s.execute(select(Fact.value_num, Fact.value_text).join(Enterprise).where(
            Enterprise.uscc == code, Fact.metric_id == mid, Fact.period == period,
            Fact.is_current.is_(True))).first()
        if row is None:
            return None
        return row[0] if row[0] is not None else row[1]


def history(engine: Engine, code: str, metric: str, period: int) -> list[tuple[Any, ...]]:
    with unit_of_work(engine) as s:
        mid = s.scalar(text("SELECT id FROM metric WHERE code = :m"), {"m": metric})
        return [tuple(r) for r in s.execute(
            select(Fact.value_num, Fact.batch_id, Fact.is_current, Fact.superseded_by)
            .join(Enterprise).where(Enterprise.uscc == code, Fact.metric_id == mid,
                                    Fact.period == period).order_by(Fact.id))]
