"""Jobs: long work (scoring runs, Monte Carlo analyses, index builds, imports) runs as a job
with progress, so a page never waits on it and a crash leaves a failed job, not half a
result (spec/architecture.md, "Long work runs as jobs")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow

JOB_STATES = ("queued", "running", "done", "failed")


class Job(Base):
    """One unit of long work. ``result`` holds what the work produced (e.g. ``{"run_id": 7}``);
    ``error`` the message shown to the user when it failed."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    progress_label: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[dict | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    #: the submitting actor (role, region path, ids) so the worker acts with the same scope
    actor_info: Mapped[dict] = mapped_column(default=dict)
    #: "host:pid" of the worker that claimed it (stale-job recovery on start-up)
    worker: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
