"""Every SQL statement of the role homes: counts over the actor's scope."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.models import AuditEvent, Enterprise, ImportBatch, Region


def region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def home_counts(session: Session, actor: Actor) -> dict[str, int]:
    return {
        "enterprises": session.scalar(select(func.count()).select_from(Enterprise)
                                      .where(enterprise_visible(actor))) or 0,
        "batches": session.scalar(select(func.count()).select_from(ImportBatch)) or 0,
    }


def holds_demo(session: Session) -> bool:
    """Whether ``kechuang init --demo`` wrote into this database (its audit row)."""
    return session.scalar(select(AuditEvent.id).where(AuditEvent.action == "demo.generate")
                          .limit(1)) is not None


def enterprise(session: Session, enterprise_id: int) -> Enterprise | None:
    return session.get(Enterprise, enterprise_id)
