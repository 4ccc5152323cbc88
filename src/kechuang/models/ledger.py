"""The append-only ledger, budgets, innovation vouchers and service providers.

``ledger_budget`` is one pot of money (a program's yearly budget, a voucher budget, a
dividend pool, a risk pool) under a stable ``key``. ``ledger_entry`` is append-only: the
migration installs triggers on both backends that refuse ``UPDATE`` and ``DELETE`` (and
``TRUNCATE`` on PostgreSQL), so a correction is a new ``reversal`` entry. Each entry keeps
``delta`` (its signed effect on what is left) and ``balance_after`` (what is left after it),
written under the budget's lock, so the remaining amount is the last entry's balance and a
reconciliation can prove that the running balance agrees with the sums.

Vouchers (科技创新券): ``voucher_provider`` (an institute or an enterprise offering testing
or R&D services) with its ``voucher_service`` rows; ``voucher`` issued to an enterprise for a
year; ``voucher_redemption`` at most one per voucher (unique), paid through the ledger
(the entry whose idempotency key is its ``payment_key``); ``voucher_settlement`` a
statement grouping a provider's redemptions.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base, utcnow

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class LedgerBudget(Base):
    """One budget: opening amount, region, year and where the money comes from."""

    __tablename__ = "ledger_budget"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_ledger_budget_region_year", "region_code", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: program:<code>:<year>, vouchers:<region>:<year>, dividends:<region>:<year>,
    #: finance:risk_pool:<region>:<year>
    key: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: the document or decision that allocates the money
    source: Mapped[str] = mapped_column(String(400))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """One append-only movement of money against a budget."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("balance_after >= 0", name="balance_not_negative"),
        CheckConstraint("delta = amount OR delta = -amount", name="delta_is_amount"),
        CheckConstraint("entry_type IN ('payment', 'receipt', 'reversal')",
                        name="entry_type_known"),
        CheckConstraint("length(decision_ref) > 0", name="decision_ref_given"),
        CheckConstraint("length(idempotency_key) > 0", name="idempotency_key_given"),
        Index("ix_ledger_entry_budget_id", "budget_id", "id"),
        Index("ix_ledger_entry_decision_ref", "decision_ref"),
        Index("ix_ledger_entry_payee", "payee_type", "payee_id"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("ledger_budget.id"))
    #: payment (money out), receipt (money back into the pool), reversal (a correction)
    entry_type: Mapped[str] = mapped_column(String(10))
    #: grant, tranche, post_subsidy, pre_payment, voucher_settlement, dividend,
    #: risk_compensation, recovery, reversal
    kind: Mapped[str] = mapped_column(String(24))
    #: enterprise, institute, provider, bank, other (receipts: who paid back)
    payee_type: Mapped[str | None] = mapped_column(String(16))
    payee_id: Mapped[int | None] = mapped_column(Integer)
    payee_name: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: signed effect on what is left of the budget
    delta: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: what is left of the budget after this entry (written under the budget's lock)
    balance_after: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: the decision this money follows (program decision, voucher, published list…)
    decision_ref: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoucherProvider(Base):
    """A service provider that may redeem vouchers: an institute or an enterprise."""

    __tablename__ = "voucher_provider"
    __table_args__ = (
        CheckConstraint("kind IN ('institute', 'enterprise')", name="kind_known"),
        CheckConstraint(
            "(kind = 'institute' AND institute_id IS NOT NULL AND enterprise_id IS NULL) OR "
            "(kind = 'enterprise' AND enterprise_id IS NOT NULL AND institute_id IS NULL)",
            name="one_organisation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), unique=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoucherService(Base):
    """One service a provider offers (testing, R&D services…)."""

    __tablename__ = "voucher_service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("voucher_provider.id"), index=True)
    #: testing, rd, design, other
    category: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Voucher(Base):
    """One innovation voucher issued to one enterprise for one year."""

    __tablename__ = "voucher"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("cover_share > 0", name="share_positive"),
        Index("uq_voucher_enterprise_year", "enterprise_id", "year", unique=True),
        Index("ix_voucher_budget", "budget_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    budget_key: Mapped[str] = mapped_column(String(120))
    #: face value: the most the voucher pays
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: share of an invoice the voucher covers (0 < share <= 1)
    cover_share: Mapped[Decimal] = mapped_column(ExactDecimal())
    issued_on: Mapped[date] = mapped_column(Date)
    #: last day (Asia/Shanghai) on which it may be redeemed
    valid_until: Mapped[date] = mapped_column(Date)
    policy_run_id: Mapped[int | None] = mapped_column(Integer)
    rules_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoucherSettlement(Base):
    """A statement of a provider's redemptions handed to the treasury for transfer."""

    __tablename__ = "voucher_settlement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("voucher_provider.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    redemptions: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(ExactDecimal())
    reference: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoucherRedemption(Base):
    """A voucher redeemed against a provider's invoice (at most one per voucher)."""

    __tablename__ = "voucher_redemption"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("invoice_amount > 0", name="invoice_positive"),
        Index("uq_voucher_redemption_invoice", "provider_id", "invoice_no", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("voucher.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("voucher_provider.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_service.id"))
    invoice_no: Mapped[str] = mapped_column(String(64))
    invoice_amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: the idempotency key of its ledger payment (``voucher:<code>``): written before the
    #: payment, so the budget's lock is held for the payment alone
    payment_key: Mapped[str] = mapped_column(String(200), unique=True)
    settlement_id: Mapped[int | None] = mapped_column(
        ForeignKey("voucher_settlement.id"), index=True)
    redeemed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    redeemed_at: Mapped[datetime] = mapped_column(default=utcnow)
