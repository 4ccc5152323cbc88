"""Tables of kechuang.push and kechuang.tiers: inbox messages, mutes, tier snapshots.

``push_message`` holds one message per (enterprise, policy, period) — a unique index, so a
re-run of the same policy in the same evaluation year inserts nothing new (the bulk insert
is ``INSERT … ON CONFLICT DO NOTHING`` on both backends). The funnel timestamps
(``opened_at`` → ``applied_at`` → ``granted_at``) and ``exported_at`` are set once, by the
``do_*`` actions that audit them.

A policy or scoring run writes its messages as a **draft batch** (``push_batch``, status
``draft``; each message ``status = 'draft'``): nothing reaches an inbox until a bureau
account reviews the batch — drops items, edits texts — and sends it in one audited action
(issue 11, item 2). Messages that follow an explicit bureau action (a call opened, a carbon
alert already reviewed) are written as a batch that is sent at once.

``tier_run`` is one snapshot of every enterprise's cultivation tier for one evaluation year
in one region scope, with the runs it was computed from; ``tier_snapshot`` its rows. The
latest snapshot of a year is that year's tiers, so transitions between two years are a
join of two snapshots and a group-by.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow


class PushBatch(Base):
    """The messages one run (or one bureau action) calls for, reviewed and sent together."""

    __tablename__ = "push_batch"
    __table_args__ = (Index("ix_push_batch_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: policy, scoring, program, notice
    source: Mapped[str] = mapped_column(String(16))
    source_run_id: Mapped[int | None] = mapped_column(Integer)
    policy_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(12))
    #: draft → sent | discarded
    status: Mapped[str] = mapped_column(String(10), default="draft")
    #: {kind: count} when written
    counts: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(100))
    #: sent / dropped / edited counts of the decision
    decision: Mapped[dict | None] = mapped_column()


class PushMessage(Base):
    """One inbox message to one enterprise about one policy in one evaluation year."""

    __tablename__ = "push_message"
    __table_args__ = (
        Index("uq_push_message_key", "enterprise_id", "policy_id", "period", unique=True),
        Index("ix_push_message_policy_kind", "policy_id", "kind"),
        Index("ix_push_message_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    policy_id: Mapped[str] = mapped_column(String(64))
    #: the evaluation year of the run that produced the message
    period: Mapped[int] = mapped_column(Integer)
    #: newly_eligible, near_eligible, expiring, program_open
    kind: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str | None] = mapped_column(String(20))
    #: the policy run (or scoring run, see ``source``) that produced it
    source: Mapped[str] = mapped_column(String(16), default="policy")
    source_run_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    gap: Mapped[str | None] = mapped_column(Text)
    sms_text: Mapped[str] = mapped_column(String(70))
    link: Mapped[str] = mapped_column(String(255))
    #: the batch it was written in (null: written before batches existed, already sent)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("push_batch.id"))
    #: draft (waiting for review: in no inbox), sent, dropped (by the reviewer)
    status: Mapped[str] = mapped_column(String(10), default="sent",
                                        server_default=text("'sent'"))
    #: estimated benefit of an information message (yuan), e.g. a tax saving
    benefit: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    opened_at: Mapped[datetime | None] = mapped_column()
    applied_at: Mapped[datetime | None] = mapped_column()
    granted_at: Mapped[datetime | None] = mapped_column()
    exported_at: Mapped[datetime | None] = mapped_column()


class PushMute(Base):
    """An enterprise asked for no more messages about one policy."""

    __tablename__ = "push_mute"
    __table_args__ = (
        Index("uq_push_mute_key", "enterprise_id", "policy_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    policy_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TierRun(Base):
    """One snapshot of the cultivation tiers for an evaluation year in a region scope."""

    __tablename__ = "tier_run"
    __table_args__ = (Index("ix_tier_run_year", "year", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    #: {"policy_runs": {policy_id: run_id}, "scoring_run": id or null}
    sources: Mapped[dict] = mapped_column()
    #: sha256 of the tier rules file
    rules_hash: Mapped[str] = mapped_column(String(64))
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    #: {tier: count}
    counts: Mapped[dict] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TierSnapshot(Base):
    """The tier one enterprise had in one snapshot (level 0 = no tier)."""

    __tablename__ = "tier_snapshot"
    __table_args__ = (
        Index("ix_tier_snapshot_run_enterprise", "run_id", "enterprise_id", unique=True),
        Index("ix_tier_snapshot_enterprise", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tier_run.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    level: Mapped[int] = mapped_column(SmallInteger)
    tier: Mapped[str] = mapped_column(String(20))
