"""Programs, calls, applications, attachments, challenges (揭榜挂帅/赛马), bids, gates and the
pre-research fund (kechuang.programs).

``program_type`` holds a bureau's own copy of a built-in program type (the built-ins ship as
dated YAML in ``kechuang/programs/types/``); ``definition`` is the validated type (workflow,
form, tranches). ``program`` is one program of a region and year with its budget (the ledger
budget ``program:<code>:<year>``). ``program_call`` is a call for applications — for
揭榜挂帅/赛马 one call is one challenge-list item (榜单) with its problem, KPIs, budget cap and
the demanding enterprise's co-funding; it keeps a snapshot of its type's definition, so a
later edit of the type never changes a running call. ``program_application`` is an
application or a bid (one per applicant and call: a unique index refuses a double
submission), ``program_attachment`` its files (sniffed content type, size, SHA-256),
``program_milestone`` a 赛马 stage-gate report, ``program_payment`` a payment made through the
ledger (the ledger entry is the money; this row ties it to the application and tranche).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base, utcnow


class ProgramType(Base):
    """A bureau's copy of a program type, edited and stored in the database."""

    __tablename__ = "program_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    #: the built-in (or other stored) type it was copied from
    based_on: Mapped[str] = mapped_column(String(64))
    #: the validated definition (kechuang.programs.schemas.ProgramTypeDef as JSON)
    definition: Mapped[dict] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Program(Base):
    """One program of a region and year: its type, owner region and yearly budget."""

    __tablename__ = "program"
    __table_args__ = (
        CheckConstraint("budget >= 0", name="budget_not_negative"),
        Index("ix_program_region_year", "region_code", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    type_code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # challenge, horse_race, pre_research, grant
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    year: Mapped[int] = mapped_column(Integer)
    budget: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: the ledger budget its payments are drawn from
    budget_key: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgramCall(Base):
    """A call for applications; for challenges, one challenge-list item (榜单)."""

    __tablename__ = "program_call"
    __table_args__ = (
        CheckConstraint("budget_cap IS NULL OR budget_cap >= 0", name="cap_not_negative"),
        CheckConstraint("cofunding IS NULL OR cofunding >= 0", name="cofunding_not_negative"),
        CheckConstraint("visibility IN ('public', 'bureau')", name="visibility_known"),
        Index("ix_program_call_region_state", "region_code", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(24))
    visibility: Mapped[str] = mapped_column(String(8), default="public")
    #: snapshot of the program type's definition when the call was created
    definition: Mapped[dict] = mapped_column()
    opens_at: Mapped[datetime | None] = mapped_column()
    closes_at: Mapped[datetime | None] = mapped_column()
    #: the eligibility policy whose eligible enterprises hear of the call (push)
    policy_id: Mapped[str | None] = mapped_column(String(64))
    problem: Mapped[str] = mapped_column(Text, default="")
    #: measurable targets: [{"name", "target", "unit"}]
    kpis: Mapped[list] = mapped_column(default=list)
    budget_cap: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    cofunding: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    #: 企业出题: the enterprise and its technology demand the item came from
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("tech_demand.id"))
    proposer_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    #: 赛马: how many bids are funded in parallel
    fund_count: Mapped[int | None] = mapped_column(Integer)
    current_gate: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgramApplication(Base):
    """An application (or a bid, 揭榜) to a call by an enterprise, an institute or a
    consortium led by one of them."""

    __tablename__ = "program_application"
    __table_args__ = (
        CheckConstraint("applicant_type IN ('enterprise', 'institute')",
                        name="applicant_type_known"),
        CheckConstraint("requested_amount IS NULL OR requested_amount >= 0",
                        name="requested_not_negative"),
        CheckConstraint("awarded_amount IS NULL OR awarded_amount >= 0",
                        name="awarded_not_negative"),
        CheckConstraint("contract_amount IS NULL OR contract_amount >= 0",
                        name="contract_not_negative"),
        CheckConstraint("followup_rd IS NULL OR followup_rd >= 0", name="followup_not_negative"),
        Index("uq_program_application_applicant", "call_id", "applicant_type", "applicant_id",
              unique=True),
        Index("ix_program_application_state", "call_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("program_call.id"))
    applicant_type: Mapped[str] = mapped_column(String(12))
    applicant_id: Mapped[int] = mapped_column(Integer)
    applicant_name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    state: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    #: the form's values (validated against the call's form definition)
    data: Mapped[dict] = mapped_column(default=dict)
    #: consortium: [{"org_type", "org_id", "name", "role": lead|member}]
    members: Mapped[list] = mapped_column(default=list)
    requested_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    awarded_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    #: pre-research fund: the enterprise–institute contract and the partners
    contract_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    #: follow-up R&D the enterprise reported (pre-research back phase)
    followup_rd: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    front_year: Mapped[int | None] = mapped_column(Integer)
    back_year: Mapped[int | None] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    score: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    rank: Mapped[int | None] = mapped_column(Integer)
    gate: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgramAttachment(Base):
    """A file attached to an application: type sniffed from its bytes, size and hash."""

    __tablename__ = "program_attachment"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("program_application.id"),
                                                index=True)
    field: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgramMilestone(Base):
    """A 赛马 stage-gate milestone report of a funded bid, with the gate's outcome."""

    __tablename__ = "program_milestone"
    __table_args__ = (
        Index("uq_program_milestone_gate", "application_id", "gate", unique=True),
        CheckConstraint("outcome IN ('pending', 'continue', 'stop')", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("program_application.id"))
    gate: Mapped[int] = mapped_column(Integer)
    report: Mapped[str] = mapped_column(Text)
    score: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    outcome: Mapped[str] = mapped_column(String(10), default="pending")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgramPayment(Base):
    """One payment to an application's payee, made through the ledger."""

    __tablename__ = "program_payment"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_program_payment_call", "call_id", "application_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("program_call.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("program_application.id"))
    #: grant, tranche, pre_payment, post_subsidy (the ledger's kinds)
    kind: Mapped[str] = mapped_column(String(24))
    tranche: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    payee_type: Mapped[str] = mapped_column(String(16))
    payee_id: Mapped[int] = mapped_column(Integer)
    payee_name: Mapped[str] = mapped_column(String(200))
    decision_ref: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    ledger_entry_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"))
    paid_on: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
