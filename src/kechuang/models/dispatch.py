"""Tables of kechuang.dispatch: runs of the optimal assignment, their assignments and the
alternates kept for re-dispatch.

A run is immutable evidence of what the engine proposed and why (weights, the optimality
certificate, the explanations of unserved requests). Assignments change state afterwards:
``assigned`` (proposed by the run, the request is assigned), ``confirmed`` (the bureau
confirmed it; the request is in service), ``replaced`` (re-dispatched to an alternate; a new
assignment row in the same run records the replacement). ``kind`` is ``commissioner`` today
and ``review`` when expert review uses the same engine.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow


class DispatchRun(Base):
    __tablename__ = "dispatch_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="commissioner")
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    commissioners: Mapped[int] = mapped_column(Integer, default=0)
    seats_needed: Mapped[int] = mapped_column(Integer, default=0)
    seats_filled: Mapped[int] = mapped_column(Integer, default=0)
    total_fit: Mapped[float] = mapped_column(Float, default=0.0)
    #: FitWeights as used
    weights: Mapped[dict] = mapped_column()
    #: the optimality certificate (method, bound, gap, integral, solver status)
    proof: Mapped[dict] = mapped_column()
    #: why seats stay empty: [{kind, task_ids, person_ids, demand, supply, missing, zh, en}]
    explanations: Mapped[list] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DispatchAssignment(Base):
    __tablename__ = "dispatch_assignment"
    __table_args__ = (
        Index("ix_dispatch_assignment_run_request", "run_id", "request_id"),
        Index("ix_dispatch_assignment_commissioner_status", "commissioner_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("dispatch_run.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    commissioner_id: Mapped[int] = mapped_column(ForeignKey("commissioner.id"))
    fit: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="assigned")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch_assignment.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DispatchAlternate(Base):
    __tablename__ = "dispatch_alternate"
    __table_args__ = (
        Index("ix_dispatch_alternate_run_request", "run_id", "request_id", "rank", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("dispatch_run.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"))
    commissioner_id: Mapped[int] = mapped_column(ForeignKey("commissioner.id"))
    rank: Mapped[int] = mapped_column(Integer)
    fit: Mapped[float] = mapped_column(Float)
