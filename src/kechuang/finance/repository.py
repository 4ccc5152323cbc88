"""Every SQL statement of technology finance. Reads over enterprises are scoped by
:mod:`kechuang.auth.scope`; a bank's reads carry the consent predicate in SQL, so an
enterprise that has not consented to that bank never leaves the database with its id."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import case, delete, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.db import bulk_insert, is_sqlite, scaled
from kechuang.models import Bank, Enterprise, Region, User
from kechuang.models.finance import (
    FinanceAccess,
    FinanceCompensation,
    FinanceConsent,
    FinanceConsultation,
    FinanceLoan,
    FinanceMatch,
    FinanceMatchRun,
    FinanceMonth,
    FinanceNeed,
    FinanceOutcome,
    FinanceProduct,
    FinanceReminder,
)

#: ids per IN list (below every backend's parameter limit)
CHUNK = 1_500


def add(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


def get(session: Session, model: type, row_id: int) -> Any:
    return session.get(model, row_id)


# --------------------------------------------------------------------------- parties
def bank(session: Session, bank_id: int) -> Bank | None:
    return session.get(Bank, bank_id)


def banks_in_scope(session: Session, actor: Actor) -> list[Bank]:
    return list(
        session.scalars(
            select(Bank).where(region_code_in_scope(actor, Bank.region_code)).order_by(Bank.code)
        )
    )


def banks_on_path(session: Session, path: str) -> list[Bank]:
    """Banks of the regions on an enterprise's region path (its county, city, province)."""
    codes = [c for c in path.strip("/").split("/") if c]
    return list(
        session.scalars(select(Bank).where(Bank.region_code.in_(codes)).order_by(Bank.code))
    )


def banks_by_id(session: Session, ids: Iterable[int]) -> dict[int, Bank]:
    ids = list(ids)
    if not ids:
        return {}
    return {b.id: b for b in session.scalars(select(Bank).where(Bank.id.in_(ids)))}


def visible_enterprise(session: Session, actor: Actor, enterprise_id: int) -> Enterprise | None:
    return session.scalar(
        select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_visible(actor))
    )


def enterprises_by_id(session: Session, ids: Iterable[int]) -> dict[int, Enterprise]:
    """Callers pass only ids they may show (bureau scope, the enterprise itself, or the
    consenting enterprises of a bank)."""
    ids = list(ids)
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)))}


def enterprise_ids_by_uscc(session: Session, actor: Actor, codes: Sequence[str]) -> dict[str, int]:
    rows = session.execute(
        select(Enterprise.uscc, Enterprise.id).where(
            Enterprise.uscc.in_(list(codes)), enterprise_visible(actor)
        )
    )
    return {r[0]: r[1] for r in rows}


def region_path(session: Session, code: str) -> str | None:
    return session.scalar(select(Region.path).where(Region.code == code))


# --------------------------------------------------------------------------- products
def products(
    session: Session,
    actor: Actor,
    *,
    bank_id: int | None = None,
    statuses: Sequence[str] | None = None,
) -> list[FinanceProduct]:
    q = select(FinanceProduct).where(region_code_in_scope(actor, FinanceProduct.region_code))
    if bank_id is not None:
        q = q.where(FinanceProduct.bank_id == bank_id)
    if statuses:
        q = q.where(FinanceProduct.status.in_(list(statuses)))
    return list(session.scalars(q.order_by(FinanceProduct.bank_id, FinanceProduct.code)))


def published_in_region(
    session: Session, region_codes: Sequence[str] | None
) -> list[FinanceProduct]:
    """Published products offered in the regions whose paths cover ``region_codes``' — for
    simplicity: every published product (products are public offers); ``None``: all."""
    q = select(FinanceProduct).where(FinanceProduct.status == "published")
    return list(session.scalars(q.order_by(FinanceProduct.id)))


def next_product_code(session: Session, bank_code: str) -> str:
    n = (
        session.scalar(
            select(func.count())
            .select_from(FinanceProduct)
            .join(Bank, Bank.id == FinanceProduct.bank_id)
            .where(Bank.code == bank_code)
        )
        or 0
    )
    return f"{bank_code}-P{n + 1:02d}"


# --------------------------------------------------------------------------- months
def months(session: Session, actor: Actor, limit: int = 24) -> list[FinanceMonth]:
    return list(
        session.scalars(
            select(FinanceMonth)
            .where(region_code_in_scope(actor, FinanceMonth.region_code))
            .order_by(FinanceMonth.month.desc())
            .limit(limit)
        )
    )


def month_of(session: Session, region_code: str, month: int) -> FinanceMonth | None:
    return session.scalar(
        select(FinanceMonth).where(
            FinanceMonth.region_code == region_code, FinanceMonth.month == month
        )
    )


def open_months_for(session: Session, region_path: str) -> list[FinanceMonth]:
    """Open months of the regions on the path of an enterprise's region (its county)."""
    codes = [c for c in region_path.strip("/").split("/") if c]
    if not codes:
        return []
    return list(
        session.scalars(
            select(FinanceMonth)
            .where(FinanceMonth.region_code.in_(codes), FinanceMonth.status == "open")
            .order_by(FinanceMonth.month.desc())
        )
    )


def month_counts(session: Session, month_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(needs, reminders) per month."""
    if not month_ids:
        return {}
    needs = dict(
        session.execute(
            select(FinanceNeed.month_id, func.count())
            .where(FinanceNeed.month_id.in_(month_ids))
            .group_by(FinanceNeed.month_id)
        ).all()
    )
    rem = dict(
        session.execute(
            select(FinanceReminder.month_id, func.count())
            .where(FinanceReminder.month_id.in_(month_ids))
            .group_by(FinanceReminder.month_id)
        ).all()
    )
    return {m: (int(needs.get(m, 0)), int(rem.get(m, 0))) for m in month_ids}


def insert_reminders(session: Session, month: FinanceMonth, region_path: str) -> int:
    """One reminder per technology enterprise (HTE certificate or tech-SME year, or a need in
    an earlier month) of the month's region that has not answered and has no reminder yet:
    one INSERT … SELECT."""
    in_region = Enterprise.region_code.in_(
        select(Region.code).where(Region.path.startswith(region_path, autoescape=True))
    )
    asked_before = exists().where(FinanceNeed.enterprise_id == Enterprise.id)
    answered = exists().where(
        FinanceNeed.enterprise_id == Enterprise.id, FinanceNeed.month_id == month.id
    )
    reminded = exists().where(
        FinanceReminder.enterprise_id == Enterprise.id, FinanceReminder.month_id == month.id
    )
    target = or_(
        Enterprise.hte_cert_no.is_not(None), Enterprise.tech_sme_year.is_not(None), asked_before
    )
    now = datetime.now().astimezone()
    sel = select(literal(month.id), Enterprise.id, literal(now)).where(
        in_region, target, ~answered, ~reminded
    )

    def count() -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(FinanceReminder)
                .where(FinanceReminder.month_id == month.id)
            )
            or 0
        )

    before = count()
    session.execute(
        insert(FinanceReminder).from_select(["month_id", "enterprise_id", "created_at"], sel)
    )
    return count() - before  # rowcount of INSERT … SELECT is not reliable on every driver


def reminders_for(
    session: Session, enterprise_id: int
) -> list[tuple[FinanceReminder, FinanceMonth]]:
    rows = session.execute(
        select(FinanceReminder, FinanceMonth)
        .join(FinanceMonth, FinanceMonth.id == FinanceReminder.month_id)
        .where(
            FinanceReminder.enterprise_id == enterprise_id,
            FinanceMonth.status == "open",
            ~exists().where(
                FinanceNeed.enterprise_id == enterprise_id, FinanceNeed.month_id == FinanceMonth.id
            ),
        )
        .order_by(FinanceMonth.month.desc())
    ).all()
    return [(r[0], r[1]) for r in rows]


# --------------------------------------------------------------------------- needs
def needs_of(session: Session, enterprise_id: int, limit: int = 24) -> list[FinanceNeed]:
    return list(
        session.scalars(
            select(FinanceNeed)
            .where(FinanceNeed.enterprise_id == enterprise_id)
            .order_by(FinanceNeed.id.desc())
            .limit(limit)
        )
    )


def need_for(session: Session, enterprise_id: int, month_id: int) -> FinanceNeed | None:
    return session.scalar(
        select(FinanceNeed).where(
            FinanceNeed.enterprise_id == enterprise_id, FinanceNeed.month_id == month_id
        )
    )


def visible_need(session: Session, actor: Actor, need_id: int) -> FinanceNeed | None:
    """A need whose enterprise the actor may read (bureau scope, or its own)."""
    return session.scalar(
        select(FinanceNeed)
        .join(Enterprise, Enterprise.id == FinanceNeed.enterprise_id)
        .where(FinanceNeed.id == need_id, enterprise_visible(actor))
    )


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def open_need_table(
    session: Session, actor: Actor, need_ids: Sequence[int] | None = None
) -> dict[str, np.ndarray]:
    """Open needs in the actor's scope, column-wise (one query)."""
    q = (
        select(
            FinanceNeed.id,
            FinanceNeed.enterprise_id,
            FinanceNeed.amount_wan,
            FinanceNeed.term_months,
            FinanceNeed.collateral,
            FinanceNeed.patents_offered,
        )
        .join(Enterprise, Enterprise.id == FinanceNeed.enterprise_id)
        .where(FinanceNeed.status == "open", enterprise_visible(actor))
        .order_by(FinanceNeed.id)
    )
    if need_ids is not None:
        q = q.where(FinanceNeed.id.in_(list(need_ids)))
    rows = session.execute(q).all()
    col = list(zip(*rows, strict=True)) if rows else [()] * 6
    return {
        "need_id": np.array(col[0], dtype=np.int64),
        "enterprise_id": np.array(col[1], dtype=np.int64),
        "amount_wan": np.array([float(v) for v in col[2]], dtype=float),
        "term_months": np.array(col[3], dtype=np.int64),
        "collateral": _objects([list(c or []) for c in col[4]]),
        "patents_offered": np.array(col[5], dtype=np.int64),
    }


def needs_in_quarter(
    session: Session,
    actor: Actor,
    first_month: int,
    last_month: int,
    statuses: Sequence[str] | None = None,
) -> list[tuple[FinanceNeed, Enterprise]]:
    q = (
        select(FinanceNeed, Enterprise)
        .join(Enterprise, Enterprise.id == FinanceNeed.enterprise_id)
        .join(FinanceMonth, FinanceMonth.id == FinanceNeed.month_id)
        .where(FinanceMonth.month.between(first_month, last_month), enterprise_visible(actor))
    )
    if statuses:
        q = q.where(FinanceNeed.status.in_(list(statuses)))
    return [(r[0], r[1]) for r in session.execute(q.order_by(FinanceNeed.id)).all()]


def need_status_counts(session: Session, actor: Actor) -> dict[str, int]:
    rows = session.execute(
        select(FinanceNeed.status, func.count())
        .join(Enterprise, Enterprise.id == FinanceNeed.enterprise_id)
        .where(enterprise_visible(actor))
        .group_by(FinanceNeed.status)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def set_credit_lines(
    session: Session, groups: dict[tuple[Decimal | None, str | None], list[int]]
) -> None:
    """Set the 积分贷 line and tier of needs: one UPDATE per distinct value and id chunk."""
    for (line, tier), ids in groups.items():
        for start in range(0, len(ids), CHUNK):
            session.execute(
                update(FinanceNeed)
                .where(FinanceNeed.id.in_(ids[start : start + CHUNK]))
                .values(credit_line_wan=line, points_tier=tier)
            )


def set_need_status(session: Session, need_ids: Sequence[int], status: str) -> None:
    if need_ids:
        session.execute(
            update(FinanceNeed).where(FinanceNeed.id.in_(list(need_ids))).values(status=status)
        )


# --------------------------------------------------------------------------- matching
def latest_run(session: Session, actor: Actor) -> FinanceMatchRun | None:
    """The latest run covering the actor's region (its region or an ancestor's, or all)."""
    q = select(FinanceMatchRun).order_by(FinanceMatchRun.id.desc()).limit(1)
    if actor.region_path != "/":
        codes = [c for c in actor.region_path.strip("/").split("/") if c]
        q = q.where(
            or_(FinanceMatchRun.region_code.is_(None), FinanceMatchRun.region_code.in_(codes))
        )
    return session.scalar(q)


def insert_matches(session: Session, run_id: int, cols: dict[str, Any]) -> int:
    n = len(cols["need_id"])
    parts = [p if isinstance(p, str) else json.dumps(p, ensure_ascii=False) for p in cols["parts"]]
    return bulk_insert(
        session,
        "finance_match",
        ["run_id", "need_id", "product_id", "bank_id", "rank", "score", "verdict", "parts"],
        [
            [run_id] * n,
            cols["need_id"].tolist(),
            cols["product_id"].tolist(),
            cols["bank_id"].tolist(),
            cols["rank"].tolist(),
            [float(s) for s in cols["score"]],
            list(cols["verdict"]),
            parts,
        ],
    )


def delete_matches(session: Session, run_id: int, need_ids: Sequence[int]) -> None:
    if need_ids:
        session.execute(
            delete(FinanceMatch).where(
                FinanceMatch.run_id == run_id, FinanceMatch.need_id.in_(list(need_ids))
            )
        )


def matches_for_needs(
    session: Session, run_id: int, need_ids: Sequence[int]
) -> list[tuple[FinanceMatch, FinanceProduct, Bank]]:
    if not need_ids:
        return []
    rows = session.execute(
        select(FinanceMatch, FinanceProduct, Bank)
        .join(FinanceProduct, FinanceProduct.id == FinanceMatch.product_id)
        .join(Bank, Bank.id == FinanceMatch.bank_id)
        .where(FinanceMatch.run_id == run_id, FinanceMatch.need_id.in_(list(need_ids)))
        .order_by(FinanceMatch.need_id, FinanceMatch.rank)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def consent_active(now: datetime, bank_id: Any, enterprise_id: Any) -> Any:
    return exists().where(
        FinanceConsent.bank_id == bank_id,
        FinanceConsent.enterprise_id == enterprise_id,
        FinanceConsent.revoked_at.is_(None),
        FinanceConsent.expires_at > now,
    )


def bank_matches(
    session: Session, run_id: int, bank_id: int, now: datetime
) -> list[dict[str, Any]]:
    """The needs the bank's products fit in a run. ``enterprise_id`` and ``purpose`` come
    out of SQL only where the enterprise's consent to this bank is active (else NULL)."""
    consented = consent_active(now, bank_id, FinanceNeed.enterprise_id)
    rows = (
        session.execute(
            select(
                FinanceMatch.need_id,
                FinanceMatch.product_id,
                FinanceMatch.rank,
                FinanceMatch.score,
                FinanceMatch.verdict,
                FinanceMatch.parts,
                FinanceNeed.amount_wan,
                FinanceNeed.term_months,
                FinanceNeed.collateral,
                FinanceNeed.urgency,
                FinanceNeed.status,
                case((consented, FinanceNeed.enterprise_id), else_=None).label("enterprise_id"),
                case((consented, FinanceNeed.purpose), else_=None).label("purpose"),
                FinanceMonth.month,
            )
            .join(FinanceNeed, FinanceNeed.id == FinanceMatch.need_id)
            .join(FinanceMonth, FinanceMonth.id == FinanceNeed.month_id)
            .where(
                FinanceMatch.run_id == run_id,
                FinanceMatch.bank_id == bank_id,
                FinanceNeed.status == "open",
            )
            .order_by(FinanceMatch.product_id, FinanceMatch.score.desc(), FinanceMatch.need_id)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def consented_need(
    session: Session, need_id: int, bank_id: int, now: datetime
) -> FinanceNeed | None:
    """A need of an enterprise whose consent to ``bank_id`` is active (else None)."""
    return session.scalar(
        select(FinanceNeed).where(
            FinanceNeed.id == need_id, consent_active(now, bank_id, FinanceNeed.enterprise_id)
        )
    )


def product_match_counts(session: Session, run_id: int) -> dict[int, int]:
    rows = session.execute(
        select(FinanceMatch.product_id, func.count())
        .where(FinanceMatch.run_id == run_id)
        .group_by(FinanceMatch.product_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


# --------------------------------------------------------------------------- consent
def consents_of(session: Session, enterprise_id: int) -> list[tuple[FinanceConsent, Bank]]:
    rows = session.execute(
        select(FinanceConsent, Bank)
        .join(Bank, Bank.id == FinanceConsent.bank_id)
        .where(FinanceConsent.enterprise_id == enterprise_id)
        .order_by(FinanceConsent.id.desc())
    ).all()
    return [(r[0], r[1]) for r in rows]


def active_consent(
    session: Session, enterprise_id: int, bank_id: int, now: datetime
) -> FinanceConsent | None:
    return session.scalar(
        select(FinanceConsent).where(
            FinanceConsent.enterprise_id == enterprise_id,
            FinanceConsent.bank_id == bank_id,
            FinanceConsent.revoked_at.is_(None),
            FinanceConsent.expires_at > now,
        )
    )


def consented_enterprise_ids(session: Session, bank_id: int, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(FinanceConsent.enterprise_id)
            .where(
                FinanceConsent.bank_id == bank_id,
                FinanceConsent.revoked_at.is_(None),
                FinanceConsent.expires_at > now,
            )
            .distinct()
        )
    )


def add_access(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(FinanceAccess), rows)


def access_of(
    session: Session, enterprise_id: int, limit: int = 100
) -> list[tuple[FinanceAccess, Bank]]:
    rows = session.execute(
        select(FinanceAccess, Bank)
        .join(Bank, Bank.id == FinanceAccess.bank_id)
        .where(FinanceAccess.enterprise_id == enterprise_id)
        .order_by(FinanceAccess.id.desc())
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


# --------------------------------------------------------------------------- consultations
def consultations(session: Session, actor: Actor) -> list[FinanceConsultation]:
    return list(
        session.scalars(
            select(FinanceConsultation)
            .where(region_code_in_scope(actor, FinanceConsultation.region_code))
            .order_by(FinanceConsultation.quarter.desc(), FinanceConsultation.id.desc())
        )
    )


def consultation(session: Session, actor: Actor, cid: int) -> FinanceConsultation | None:
    return session.scalar(
        select(FinanceConsultation).where(
            FinanceConsultation.id == cid,
            region_code_in_scope(actor, FinanceConsultation.region_code),
        )
    )


def outcomes_for(session: Session, need_ids: Sequence[int]) -> dict[int, FinanceOutcome]:
    if not need_ids:
        return {}
    return {
        o.need_id: o
        for o in session.scalars(
            select(FinanceOutcome).where(FinanceOutcome.need_id.in_(list(need_ids)))
        )
    }


def outcome_of(session: Session, need_id: int) -> FinanceOutcome | None:
    return session.scalar(select(FinanceOutcome).where(FinanceOutcome.need_id == need_id))


# --------------------------------------------------------------------------- loans
def loans(
    session: Session,
    actor: Actor,
    *,
    year: int | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[tuple[FinanceLoan, Bank, Enterprise]]:
    q = (
        select(FinanceLoan, Bank, Enterprise)
        .join(Bank, Bank.id == FinanceLoan.bank_id)
        .join(Enterprise, Enterprise.id == FinanceLoan.enterprise_id)
        .where(enterprise_visible(actor))
    )
    if year is not None:
        q = q.where(FinanceLoan.granted_on.between(date(year, 1, 1), date(year, 12, 31)))
    if status:
        q = q.where(FinanceLoan.status == status)
    q = q.order_by(FinanceLoan.granted_on.desc(), FinanceLoan.id.desc())
    if limit:
        q = q.limit(limit)
    return [(r[0], r[1], r[2]) for r in session.execute(q).all()]


def visible_loan(session: Session, actor: Actor, loan_id: int) -> FinanceLoan | None:
    return session.scalar(
        select(FinanceLoan)
        .join(Enterprise, Enterprise.id == FinanceLoan.enterprise_id)
        .where(FinanceLoan.id == loan_id, enterprise_visible(actor))
    )


def loan_rows(session: Session, actor: Actor, years: Sequence[int]) -> list[Any]:
    """(bank name, product name, kind, amount, rate, first_time, year) of loans granted in
    ``years`` in scope — the annual assessment's input."""
    lo, hi = date(min(years), 1, 1), date(max(years), 12, 31)
    return list(
        session.execute(
            select(
                Bank.name,
                FinanceProduct.name,
                FinanceLoan.kind,
                FinanceLoan.amount_wan,
                FinanceLoan.rate_pct,
                FinanceLoan.first_time,
                FinanceLoan.granted_on,
            )
            .join(Bank, Bank.id == FinanceLoan.bank_id)
            .outerjoin(FinanceProduct, FinanceProduct.id == FinanceLoan.product_id)
            .join(Enterprise, Enterprise.id == FinanceLoan.enterprise_id)
            .where(FinanceLoan.granted_on.between(lo, hi), enterprise_visible(actor))
        ).all()
    )


def compensations(session: Session, actor: Actor, limit: int = 200) -> list[FinanceCompensation]:
    return list(
        session.scalars(
            select(FinanceCompensation)
            .where(region_code_in_scope(actor, FinanceCompensation.region_code))
            .order_by(FinanceCompensation.id.desc())
            .limit(limit)
        )
    )


def compensation_by_key(session: Session, key: str) -> FinanceCompensation | None:
    return session.scalar(
        select(FinanceCompensation).where(FinanceCompensation.idempotency_key == key)
    )


def paid_in_year(session: Session, region_code: str, year: int) -> Decimal:
    v = session.scalar(
        select(func.coalesce(func.sum(FinanceCompensation.amount_yuan), 0)).where(
            FinanceCompensation.region_code == region_code,
            FinanceCompensation.year == year,
            FinanceCompensation.kind == "compensation",
        )
    )
    return Decimal(v or 0) / (Decimal(10) ** 6) if v and is_sqlite(session) else Decimal(v or 0)


def pool_totals(session: Session, actor: Actor) -> dict[str, Decimal]:
    rows = session.execute(
        select(
            FinanceCompensation.kind, func.coalesce(func.sum(FinanceCompensation.amount_yuan), 0)
        )
        .where(region_code_in_scope(actor, FinanceCompensation.region_code))
        .group_by(FinanceCompensation.kind)
    ).all()
    div = Decimal(10) ** 6 if is_sqlite(session) else Decimal(1)
    return {r[0]: Decimal(r[1]) / div for r in rows}


# --------------------------------------------------------------------------- demo (bulk)
def bulk(session: Session, table: str, names: list[str], columns: list[list[Any]]) -> int:
    return bulk_insert(session, table, names, columns)


def money(session: Session, values: Iterable[Decimal]) -> list[Any]:
    """Values for an ``ExactDecimal`` column in a bulk insert."""
    return [scaled(v) for v in values] if is_sqlite(session) else list(values)


def max_id(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0)


def fix_sequences(session: Session, tables: Sequence[str]) -> None:
    """After inserts with explicit ids on PostgreSQL: move each id sequence past them."""
    if not is_sqlite(session):
        for t in tables:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {t}))"
                )
            )


def add_all(session: Session, objs: Sequence[Any]) -> None:
    session.add_all(list(objs))
    session.flush()


def tech_enterprise_ids(session: Session, region_path: str) -> list[int]:
    """Technology enterprises (HTE certificate or tech-SME year) of a region, by id."""
    return list(
        session.scalars(
            select(Enterprise.id)
            .where(
                Enterprise.region_code.in_(
                    select(Region.code).where(Region.path.startswith(region_path, autoescape=True))
                ),
                or_(Enterprise.hte_cert_no.is_not(None), Enterprise.tech_sme_year.is_not(None)),
            )
            .order_by(Enterprise.id)
        )
    )


def enterprise_regions(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Enterprise.id, Enterprise.region_code).where(Enterprise.id.in_(list(ids)))
        ).all()
    )


def account_enterprise_ids(session: Session) -> list[int]:
    return [
        i
        for i in session.scalars(
            select(User.enterprise_id).where(
                User.role == "enterprise", User.enterprise_id.is_not(None)
            )
        )
        if i is not None
    ]
