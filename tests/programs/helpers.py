"""Shared helpers of the programs tests: actors of the seeded accounts, a challenge program
with one call, files."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.models import AuditEvent, Region, User
from kechuang.models.ledger import LedgerEntry
from kechuang.models.programs import (
    ProgramApplication,
    ProgramAttachment,
    ProgramMilestone,
    ProgramPayment,
)
from kechuang.programs import service
from kechuang.programs.schemas import CallIn, ProgramIn
from tests.support.seed import HOME_COUNTY

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    path = session.scalar(select(Region.path).where(Region.code == user.region_code))
    assert path is not None
    return actor_for_user(user, path)


def make_program(session: Session, kind: str = "challenge", code: str = "T-JB-2026",
                 budget: str = "3000000") -> int:
    p = service.do_create_program(session, actor(session, "admin"), ProgramIn(
        code=code, title=f"测试项目 {code}", type_code=kind, year=2026, budget=Decimal(budget)))
    return p.id


def make_call(session: Session, program_id: int, code: str = "T-JB-2026-01",
              closes_on: date | None = None, cap: str | None = "1000000",
              **extra: Any) -> int:
    c = service.do_create_call(session, actor(session, "staff"), program_id, CallIn(
        code=code, title="高安全固态电解质攻关", closes_on=closes_on or date.today()
        + timedelta(days=30), problem="固态电解质离子电导率不足",
        kpis=[{"name": "离子电导率", "target": "≥ 1", "unit": "mS/cm"}],
        budget_cap=Decimal(cap) if cap else None, cofunding=Decimal("500000"), **extra))
    return c.id


def bid_values(amount: str = "800000", title: str = "固态电解质揭榜方案") -> dict[str, str]:
    return {"title": title, "plan": "技术路线与分工", "requested_amount": amount,
            "team_size": "12"}


def proposal() -> list[service.Upload]:
    return [service.Upload("proposal", "方案.pdf", PDF)]


def counts(session: Session) -> dict[str, int]:
    """Rows that a refused action must leave untouched."""
    return {name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (("applications", ProgramApplication),
                                ("attachments", ProgramAttachment),
                                ("milestones", ProgramMilestone),
                                ("payments", ProgramPayment), ("ledger", LedgerEntry),
                                ("audit", AuditEvent))}


__all__ = ["HOME_COUNTY"]
