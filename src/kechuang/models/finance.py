"""Technology finance: products, needs, consents, consultations, loans, risk pool.

Amounts of products, needs, outcomes and loans are in 万元 (the unit banks and the seeds
quote); risk-pool payments are in yuan (what the ledger pays). Rates are annual percent.

- ``finance_product``: a bank's product; ``eligibility`` is a condition tree in the policy
  language (``conditions`` of a policy file); ``status`` draft → pending → published
  (approved by the bureau) or rejected; published → withdrawn.
- ``finance_month``: a collection month (月份征集) of a county, open until ``closes_on``.
- ``finance_need``: an enterprise's financing need of one month (one per month), editable
  while the month is open; ``status`` open → met / declined / withdrawn.
- ``finance_match_run`` / ``finance_match``: one set-based matching pass (every open need of
  a region against every published product) and its ranked pairs with the reasons.
- ``finance_consent``: an enterprise lets one bank see its identity and data until
  ``expires_at``; ``revoked_at`` ends it at once.
- ``finance_access``: every bank view of an enterprise's identity or data ("who looked at
  my data"), next to the audit row.
- ``finance_reminder``: a reminder of an open month to an enterprise that has not answered.
- ``finance_consultation``: a quarterly consultation (季度会商) and its record.
- ``finance_outcome``: the outcome of a need (granted amount, rate, date, or the reason
  declined), one per need.
- ``finance_loan``: loan records (from outcomes or entered by the bureau), with default.
- ``finance_compensation``: risk-pool compensation paid on a defaulted loan and
  recoveries flowing back (through the ledger).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base, utcnow


class FinanceProduct(Base):
    __tablename__ = "finance_product"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # credit, ip_pledge, guarantee, points_loan
    amount_min_wan: Mapped[Decimal] = mapped_column(ExactDecimal())
    amount_max_wan: Mapped[Decimal] = mapped_column(ExactDecimal())
    term_min_months: Mapped[int] = mapped_column(Integer)
    term_max_months: Mapped[int] = mapped_column(Integer)
    rate_pct: Mapped[Decimal] = mapped_column(ExactDecimal())
    description: Mapped[str] = mapped_column(Text, default="")
    #: the ``conditions`` tree of a policy file ({all: [...]} / {any: [...]} / {not: ...})
    eligibility: Mapped[dict] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    review_note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceMonth(Base):
    __tablename__ = "finance_month"
    __table_args__ = (UniqueConstraint("region_code", "month",
                                       name="uq_finance_month_region_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    month: Mapped[int] = mapped_column(Integer)  # 202405
    closes_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, closed
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class FinanceNeed(Base):
    __tablename__ = "finance_need"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "month_id", name="uq_finance_need_enterprise_month"),
        Index("ix_finance_need_region_status", "region_code", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    month_id: Mapped[int] = mapped_column(ForeignKey("finance_month.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    amount_wan: Mapped[Decimal] = mapped_column(ExactDecimal())
    term_months: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(Text)
    #: collateral offered: any of patent, property, equipment, receivable, guarantee
    collateral: Mapped[list] = mapped_column()
    patents_offered: Mapped[int] = mapped_column(Integer, default=0)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")  # low, normal, high
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: 积分贷: the suggested credit line (万元) and points tier found by the latest matching
    #: (None: not yet matched or no points — missing, not zero)
    credit_line_wan: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    points_tier: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceMatchRun(Base):
    __tablename__ = "finance_match_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    needs: Mapped[int] = mapped_column(Integer, default=0)
    products: Mapped[int] = mapped_column(Integer, default=0)
    pairs: Mapped[int] = mapped_column(Integer, default=0)
    #: the weights and their source, as used
    weights: Mapped[dict] = mapped_column()
    points_run_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceMatch(Base):
    __tablename__ = "finance_match"
    __table_args__ = (
        Index("ix_finance_match_run_need", "run_id", "need_id"),
        Index("ix_finance_match_run_bank", "run_id", "bank_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("finance_match_run.id", ondelete="CASCADE"))
    need_id: Mapped[int] = mapped_column(ForeignKey("finance_need.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("finance_product.id"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(20))
    #: the components of the score: {eligibility, amount, term, collateral, points}
    parts: Mapped[dict] = mapped_column()


class FinanceConsent(Base):
    __tablename__ = "finance_consent"
    __table_args__ = (Index("ix_finance_consent_bank_enterprise", "bank_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class FinanceAccess(Base):
    __tablename__ = "finance_access"
    __table_args__ = (Index("ix_finance_access_enterprise_at", "enterprise_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    what: Mapped[str] = mapped_column(String(32))  # need, enterprise, credit_line, export
    ref: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceReminder(Base):
    __tablename__ = "finance_reminder"
    __table_args__ = (UniqueConstraint("month_id", "enterprise_id",
                                       name="uq_finance_reminder_month_enterprise"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month_id: Mapped[int] = mapped_column(ForeignKey("finance_month.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceConsultation(Base):
    __tablename__ = "finance_consultation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    quarter: Mapped[int] = mapped_column(Integer)  # 20241 = 2024 Q1
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200), default="")
    participants: Mapped[list] = mapped_column()
    enterprise_ids: Mapped[list] = mapped_column()
    bank_ids: Mapped[list] = mapped_column()
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceOutcome(Base):
    __tablename__ = "finance_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("finance_need.id"), unique=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("finance_consultation.id"),
                                                        index=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("bank.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("finance_product.id"))
    result: Mapped[str] = mapped_column(String(16))  # granted, declined
    amount_wan: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    rate_pct: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    decided_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceLoan(Base):
    __tablename__ = "finance_loan"
    __table_args__ = (Index("ix_finance_loan_bank_granted", "bank_id", "granted_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("finance_product.id"))
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("finance_outcome.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # credit, ip_pledge, guarantee, points_loan
    amount_wan: Mapped[Decimal] = mapped_column(ExactDecimal())
    rate_pct: Mapped[Decimal] = mapped_column(ExactDecimal())
    term_months: Mapped[int] = mapped_column(Integer)
    granted_on: Mapped[date] = mapped_column(Date)
    #: the enterprise's first loan from any bank (as declared by the bank)
    first_time: Mapped[bool] = mapped_column(Boolean, default=False)
    #: registered with the risk-compensation pool when granted
    pool_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, repaid, defaulted
    defaulted_on: Mapped[date | None] = mapped_column(Date)
    #: principal outstanding at default (万元)
    default_wan: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceCompensation(Base):
    __tablename__ = "finance_compensation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("finance_loan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # compensation, recovery
    amount_yuan: Mapped[Decimal] = mapped_column(ExactDecimal())
    year: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    budget_key: Mapped[str] = mapped_column(String(100))
    ledger_entry_id: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
