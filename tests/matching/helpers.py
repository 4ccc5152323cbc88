"""Shared helpers of the matching tests: actors of the seeded accounts, records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user, do_create_user
from kechuang.db import unit_of_work
from kechuang.models import AuditEvent, Enterprise, Region, User
from tests.support.seed import PASSWORD, uscc


def actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    path = session.scalar(select(Region.path).where(Region.code == user.region_code))
    assert path is not None
    return actor_for_user(user, path)


def add_enterprise_account(engine: Engine, n: int = 2, username: str = "ent2") -> None:
    """A second enterprise account (the seed has one per role)."""
    with unit_of_work(engine) as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.uscc == uscc(n)))
        assert ent is not None
        do_create_user(s, Actor.command_line(), username=username, password=PASSWORD,
                       role="enterprise", region_code=ent.region_code,
                       display_name=username, enterprise_id=ent.id)


def audit_actions(session: Session, object_type: str) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == object_type).order_by(AuditEvent.id)))


def demand_data(**extra: Any) -> dict[str, Any]:
    return {"title": "芯片封装散热问题", "description": "功率芯片封装结温过高，需要高导热材料。",
            "targets": "结温降低 15℃", "budget_min": "50", "budget_max": "120.5",
            "deadline": "2027-06-30", "visibility": "public", **extra}


def achievement_data(**extra: Any) -> dict[str, Any]:
    return {"title": "高导热氮化铝陶瓷封装基板",
            "abstract": "用于功率芯片封装散热的氮化铝陶瓷基板，热导率达到 170 W/mK。",
            "keywords": "氮化铝 陶瓷 封装 散热", "maturity": "中试",
            "trl": "6", "transfer_modes": ["许可", "合作开发"], "price_min": "30",
            "price_max": "80", "visibility": "public", **extra}
