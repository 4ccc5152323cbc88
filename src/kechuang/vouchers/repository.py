"""Every SQL statement of vouchers: providers and services, the voucher issue (one
conflict-free bulk insert), redemptions, settlements and the scoped lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd
from sqlalchemy import (
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.db import ExactDecimal, is_sqlite
from kechuang.models import AuditEvent, Enterprise, Institute, Region
from kechuang.models.ledger import (
    LedgerBudget,
    LedgerEntry,
    Voucher,
    VoucherProvider,
    VoucherRedemption,
    VoucherService,
    VoucherSettlement,
)


def add(session: Session, row: Any) -> None:
    session.add(row)
    session.flush()


def region_path(session: Session, code: str) -> str | None:
    return session.scalar(select(Region.path).where(Region.code == code))


# --------------------------------------------------------------------------- eligibility
def enterprises_in(session: Session, actor: Actor, region_code: str,
                   ids: np.ndarray) -> pd.DataFrame:
    """Of ``ids``, the enterprises registered in ``region_code``'s subtree and visible to the
    actor: (enterprise_id, region_code)."""
    path = region_path(session, region_code) or "/nowhere/"
    sub = select(Region.code).where(Region.path.startswith(path, autoescape=True))
    rows = session.execute(
        select(Enterprise.id, Enterprise.region_code)
        .where(enterprise_visible(actor), Enterprise.region_code.in_(sub))).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in rows],
                                      columns=["enterprise_id", "region_code"])
    return frame[np.isin(frame["enterprise_id"].to_numpy(), ids)]


def insert_vouchers(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert vouchers, skipping (enterprise, year) pairs that already hold one."""
    if not rows:
        return 0
    dialect = sqlite if is_sqlite(session) else postgresql
    year = rows[0]["year"]
    before = session.scalar(select(func.count()).select_from(Voucher)
                            .where(Voucher.year == year)) or 0
    for start in range(0, len(rows), 1000):
        stmt = dialect.insert(Voucher).on_conflict_do_nothing(
            index_elements=["enterprise_id", "year"])
        session.execute(stmt, rows[start:start + 1000])
    after = session.scalar(select(func.count()).select_from(Voucher)
                           .where(Voucher.year == year)) or 0
    return after - before


def count_vouchers(session: Session, budget_key: str) -> int:
    return session.scalar(select(func.count()).select_from(Voucher)
                          .where(Voucher.budget_key == budget_key)) or 0


# --------------------------------------------------------------------------- providers
def provider(session: Session, provider_id: int) -> VoucherProvider | None:
    return session.get(VoucherProvider, provider_id)


def provider_of(session: Session, *, institute_id: int | None = None,
                enterprise_id: int | None = None) -> VoucherProvider | None:
    if institute_id is not None:
        return session.scalar(select(VoucherProvider)
                              .where(VoucherProvider.institute_id == institute_id))
    if enterprise_id is not None:
        return session.scalar(select(VoucherProvider)
                              .where(VoucherProvider.enterprise_id == enterprise_id))
    return None


def institute(session: Session, institute_id: int) -> Institute | None:
    return session.get(Institute, institute_id)


def enterprise(session: Session, enterprise_id: int) -> Enterprise | None:
    return session.get(Enterprise, enterprise_id)


def org_id_by_code(session: Session, kind: str, code: str) -> int | None:
    """An institute's id by its code, an enterprise's by its credit code."""
    if kind == "institute":
        return session.scalar(select(Institute.id).where(Institute.code == code))
    return session.scalar(select(Enterprise.id).where(Enterprise.uscc == code))


def unregistered_institutes(session: Session, actor: Actor) -> list[Any]:
    """Institutes in the actor's region not yet registered as providers: (id, code, name)."""
    return list(session.execute(
        select(Institute.id, Institute.code, Institute.name)
        .where(region_code_in_scope(actor, Institute.region_code),
               ~Institute.id.in_(select(VoucherProvider.institute_id)
                                 .where(VoucherProvider.institute_id.is_not(None))))
        .order_by(Institute.name).limit(500)).all())


def providers(session: Session, actor: Actor) -> list[Any]:
    red = (select(VoucherRedemption.provider_id,
                  type_coerce(func.sum(VoucherRedemption.amount), ExactDecimal()).label("red"))
           .group_by(VoucherRedemption.provider_id).subquery())
    unsettled = (select(VoucherRedemption.provider_id,
                        type_coerce(func.sum(VoucherRedemption.amount),
                                    ExactDecimal()).label("uns"))
                 .where(VoucherRedemption.settlement_id.is_(None))
                 .group_by(VoucherRedemption.provider_id).subquery())
    svc = (select(VoucherService.provider_id, func.count().label("n"))
           .where(VoucherService.active.is_(True))
           .group_by(VoucherService.provider_id).subquery())
    stmt = (select(VoucherProvider, red.c.red, unsettled.c.uns, svc.c.n)
            .outerjoin(red, red.c.provider_id == VoucherProvider.id)
            .outerjoin(unsettled, unsettled.c.provider_id == VoucherProvider.id)
            .outerjoin(svc, svc.c.provider_id == VoucherProvider.id)
            .where(region_code_in_scope(actor, VoucherProvider.region_code))
            .order_by(VoucherProvider.name))
    return list(session.execute(stmt).all())


def active_providers(session: Session, region_codes_path: str) -> list[VoucherProvider]:
    sub = select(Region.code).where(Region.path.startswith(region_codes_path, autoescape=True))
    return list(session.scalars(select(VoucherProvider)
                                .where(VoucherProvider.active.is_(True),
                                       VoucherProvider.region_code.in_(sub))
                                .order_by(VoucherProvider.name)))


def services(session: Session, provider_ids: Sequence[int]) -> list[VoucherService]:
    if not provider_ids:
        return []
    return list(session.scalars(select(VoucherService)
                                .where(VoucherService.provider_id.in_(list(provider_ids)))
                                .order_by(VoucherService.provider_id, VoucherService.id)))


def service(session: Session, service_id: int) -> VoucherService | None:
    return session.get(VoucherService, service_id)


# --------------------------------------------------------------------------- vouchers
def voucher_by_code(session: Session, code: str) -> Voucher | None:
    return session.scalar(select(Voucher).where(Voucher.code == code))


def voucher_for_redemption(session: Session, code: str) -> Any:
    """(voucher, holder's credit code, id of its redemption or None) in one statement."""
    return session.execute(
        select(Voucher, Enterprise.uscc, VoucherRedemption.id)
        .join(Enterprise, Enterprise.id == Voucher.enterprise_id)
        .outerjoin(VoucherRedemption, VoucherRedemption.voucher_id == Voucher.id)
        .where(Voucher.code == code)).first()


def insert_redemption(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(VoucherRedemption).values(**values)
                               .returning(VoucherRedemption.id)).scalar_one())


def redemption_by_id(session: Session, redemption_id: int) -> VoucherRedemption | None:
    return session.get(VoucherRedemption, redemption_id)


def redemption_of(session: Session, voucher_id: int) -> VoucherRedemption | None:
    return session.scalar(select(VoucherRedemption)
                          .where(VoucherRedemption.voucher_id == voucher_id))


def redemption_by_invoice(session: Session, provider_id: int, invoice_no: str
                          ) -> VoucherRedemption | None:
    return session.scalar(select(VoucherRedemption)
                          .where(VoucherRedemption.provider_id == provider_id,
                                 VoucherRedemption.invoice_no == invoice_no))


def vouchers(session: Session, actor: Actor, *, year: int | None = None,
             enterprise_id: int | None = None, status: str | None = None,
             today: date | None = None, offset: int = 0, limit: int | None = 50
             ) -> tuple[int, list[Any]]:
    """Vouchers of enterprises the actor may see, with holder and redemption."""
    stmt = (select(Voucher, Enterprise.name, Enterprise.uscc, VoucherRedemption.amount,
                   VoucherProvider.name)
            .join(Enterprise, Enterprise.id == Voucher.enterprise_id)
            .outerjoin(VoucherRedemption, VoucherRedemption.voucher_id == Voucher.id)
            .outerjoin(VoucherProvider, VoucherProvider.id == VoucherRedemption.provider_id)
            .where(enterprise_visible(actor)))
    if year is not None:
        stmt = stmt.where(Voucher.year == year)
    if enterprise_id is not None:
        stmt = stmt.where(Voucher.enterprise_id == enterprise_id)
    if status == "redeemed":
        stmt = stmt.where(VoucherRedemption.id.is_not(None))
    elif status in ("issued", "expired") and today is not None:
        stmt = stmt.where(VoucherRedemption.id.is_(None))
        stmt = stmt.where(Voucher.valid_until >= today if status == "issued"
                          else Voucher.valid_until < today)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(Voucher.year.desc(), Voucher.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return total, list(session.execute(stmt).all())


def summary(session: Session, actor: Actor, year: int, today: date) -> Any:
    r = VoucherRedemption
    stmt = (select(func.count(Voucher.id).label("issued"),
                   type_coerce(func.coalesce(func.sum(Voucher.amount), 0),
                               ExactDecimal()).label("issued_value"),
                   func.count(r.id).label("redeemed"),
                   type_coerce(func.coalesce(func.sum(r.amount), 0),
                               ExactDecimal()).label("redeemed_value"),
                   func.count(Voucher.id).filter(r.id.is_(None),
                                                 Voucher.valid_until < today).label("expired"))
            .select_from(Voucher)
            .join(Enterprise, Enterprise.id == Voucher.enterprise_id)
            .outerjoin(r, r.voucher_id == Voucher.id)
            .where(Voucher.year == year, enterprise_visible(actor)))
    return session.execute(stmt).one()


def redemptions(session: Session, *, provider_id: int | None = None,
                unsettled_only: bool = False, settlement_id: int | None = None,
                actor: Actor | None = None, limit: int | None = 200) -> list[Any]:
    stmt = (select(VoucherRedemption, Voucher.code, VoucherProvider.name)
            .join(Voucher, Voucher.id == VoucherRedemption.voucher_id)
            .join(VoucherProvider, VoucherProvider.id == VoucherRedemption.provider_id))
    if provider_id is not None:
        stmt = stmt.where(VoucherRedemption.provider_id == provider_id)
    if unsettled_only:
        stmt = stmt.where(VoucherRedemption.settlement_id.is_(None))
    if settlement_id is not None:
        stmt = stmt.where(VoucherRedemption.settlement_id == settlement_id)
    if actor is not None:
        stmt = stmt.where(region_code_in_scope(actor, Voucher.region_code))
    stmt = stmt.order_by(VoucherRedemption.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).all())


def unsettled_totals(session: Session, provider_id: int) -> tuple[int, Decimal, list[int]]:
    rows = session.execute(select(VoucherRedemption.id, VoucherRedemption.amount)
                           .where(VoucherRedemption.provider_id == provider_id,
                                  VoucherRedemption.settlement_id.is_(None))
                           .order_by(VoucherRedemption.id)).all()
    return len(rows), sum((r.amount for r in rows), Decimal(0)), [r.id for r in rows]


def mark_settled(session: Session, ids: Sequence[int], settlement_id: int) -> int:
    n = 0
    for start in range(0, len(ids), 1000):
        result = session.execute(update(VoucherRedemption)
                                 .where(VoucherRedemption.id.in_(list(ids[start:start + 1000])),
                                        VoucherRedemption.settlement_id.is_(None))
                                 .values(settlement_id=settlement_id))
        n += cast(CursorResult[Any], result).rowcount or 0
    return n


def settlements(session: Session, actor: Actor | None, provider_id: int | None = None
                ) -> list[Any]:
    """Settlements in the actor's region (``None``: by provider id only)."""
    stmt = (select(VoucherSettlement, VoucherProvider.name)
            .join(VoucherProvider, VoucherProvider.id == VoucherSettlement.provider_id)
            .order_by(VoucherSettlement.id.desc()))
    if actor is not None:
        stmt = stmt.where(region_code_in_scope(actor, VoucherSettlement.region_code))
    if provider_id is not None:
        stmt = stmt.where(VoucherSettlement.provider_id == provider_id)
    return list(session.execute(stmt).all())


def insert_services(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(VoucherService), rows)


# --------------------------------------------------------------------------- demo reads
def county_institutes(session: Session, county_code: str, limit: int) -> list[Institute]:
    path = region_path(session, county_code) or "/nowhere/"
    sub = select(Region.code).where(Region.path.startswith(path, autoescape=True))
    return list(session.scalars(select(Institute).where(Institute.region_code.in_(sub))
                                .order_by(Institute.id).limit(limit)))


def service_firms(session: Session, county_code: str, prefixes: Sequence[str], limit: int
                  ) -> list[Enterprise]:
    """Enterprises of the county in service industries (for demo providers)."""
    path = region_path(session, county_code) or "/nowhere/"
    sub = select(Region.code).where(Region.path.startswith(path, autoescape=True))
    cond = [Enterprise.industry_code.startswith(p) for p in prefixes]
    return list(session.scalars(select(Enterprise)
                                .where(Enterprise.region_code.in_(sub), or_(*cond))
                                .order_by(Enterprise.id).limit(limit)))


def vouchers_of_year(session: Session, region_code: str, year: int) -> list[Voucher]:
    return list(session.scalars(select(Voucher)
                                .where(Voucher.budget_key == f"vouchers:{region_code}:{year}")
                                .order_by(Voucher.id)))


# --------------------------------------------------------------------------- the redemption
class Redeemed(NamedTuple):
    """What one redemption did (``status`` ``ok``) or why it wrote nothing."""

    status: str
    provider_name: str | None
    voucher_id: int | None
    valid_until: date | None
    redemption_id: int | None
    amount: Decimal | None
    left: Decimal | None
    entry_id: int | None
    budget_key: str | None


_REDEEM_PG = text(
    "SELECT * FROM kechuang_voucher_redeem(:code, :uscc, :provider_id, :owner_kind, "
    ":owner_id, :service_id, :invoice_no, :invoice_amount, :today, :user_id, :actor, :at, "
    ":ip)").bindparams(bindparam("invoice_amount", type_=ExactDecimal()))
_CENT = Decimal("0.01")
# built once: the values travel as parameters, so the compiled statement is reused
_INSERT_REDEMPTION = insert(cast(Table, VoucherRedemption.__table__)).returning(
    VoucherRedemption.__table__.c.id)
_INSERT_ENTRY = insert(cast(Table, LedgerEntry.__table__)).returning(
    LedgerEntry.__table__.c.id)


def redeem(session: Session, *, code: str, uscc: str, provider_id: int,
           owner_kind: str | None, owner_id: int | None, service_id: int | None,
           invoice_no: str, invoice_amount: Decimal, today: date, user_id: int | None,
           actor: str, at: datetime, ip: str | None) -> Redeemed:
    """One whole redemption in the caller's transaction (migration 0023 lists the steps and
    statuses): on PostgreSQL one call of ``kechuang_voucher_redeem`` (one round trip); on
    SQLite the same steps here, after ``BEGIN IMMEDIATE`` takes the database's write lock
    (see :mod:`kechuang.ledger.repository`). Nothing is written unless the status is ok."""
    args: dict[str, Any] = {"code": code, "uscc": uscc, "provider_id": provider_id,
            "owner_kind": owner_kind,
            "owner_id": owner_id, "service_id": service_id, "invoice_no": invoice_no,
            "invoice_amount": invoice_amount, "today": today, "user_id": user_id,
            "actor": actor, "at": at, "ip": ip}
    if not is_sqlite(session):
        row = session.execute(_REDEEM_PG, args).one()
        return Redeemed(*row)
    return _redeem_sqlite(session, **args)


def _none(status: str, name: str | None = None, voucher_id: int | None = None,
          valid_until: date | None = None, redemption_id: int | None = None,
          amount: Decimal | None = None, left: Decimal | None = None,
          budget_key: str | None = None) -> Redeemed:
    return Redeemed(status, name, voucher_id, valid_until, redemption_id, amount, left, None,
                    budget_key)


def _redeem_sqlite(session: Session, *, code: str, uscc: str, provider_id: int,
                   owner_kind: str | None, owner_id: int | None, service_id: int | None,
                   invoice_no: str, invoice_amount: Decimal, today: date,
                   user_id: int | None, actor: str, at: datetime, ip: str | None
                   ) -> Redeemed:
    dbapi: Any = session.connection().connection.driver_connection
    if not dbapi.in_transaction:
        dbapi.execute("BEGIN IMMEDIATE")  # the write lock before anything is read
    vp = VoucherProvider.__table__.c
    pq = select(vp.id, vp.name, vp.active, vp.enterprise_id)
    if owner_kind == "institute":
        pq = pq.where(vp.institute_id == owner_id)
    elif owner_kind == "enterprise":
        pq = pq.where(vp.enterprise_id == owner_id)
    else:
        pq = pq.where(vp.id == provider_id)
    p = session.execute(pq).first()
    if p is None:
        return _none("not_registered")
    if p.id != provider_id:
        return _none("not_own", p.name)
    if not p.active:
        return _none("suspended", p.name)
    vo = Voucher.__table__.c
    v = session.execute(
        select(vo.id, vo.enterprise_id, vo.budget_key, vo.amount, vo.cover_share,
               vo.valid_until, vo.region_code, Enterprise.uscc)
        .join(Enterprise, Enterprise.id == vo.enterprise_id).where(vo.code == code)).first()
    if v is None or v.uscc != uscc:
        return _none("no_match", p.name)
    if p.enterprise_id is not None and p.enterprise_id == v.enterprise_id:
        return _none("own", p.name, v.id)
    if service_id is not None:
        svc = session.execute(select(VoucherService.id).where(
            VoucherService.id == service_id, VoucherService.provider_id == p.id,
            VoucherService.active.is_(True))).first()
        if svc is None:
            return _none("bad_service", p.name, v.id)
    if today > v.valid_until:
        return _none("expired", p.name, v.id, v.valid_until)
    covered = (invoice_amount * v.cover_share).quantize(_CENT, rounding=ROUND_FLOOR)
    amount = min(covered, v.amount).quantize(_CENT)
    if amount <= 0:
        return _none("too_small", p.name, v.id, v.valid_until, amount=amount)
    lb = LedgerBudget.__table__.c
    b = session.execute(select(lb.id, lb.key, lb.region_code, lb.amount)
                        .where(lb.key == v.budget_key)).first()
    if b is None:
        return _none("no_budget", p.name, v.id, v.valid_until, budget_key=v.budget_key)
    vr = VoucherRedemption.__table__.c
    done = session.scalar(select(vr.id).where(vr.voucher_id == v.id))
    if done is not None:
        return _none("redeemed", p.name, v.id, v.valid_until, done, budget_key=b.key)
    if session.scalar(select(vr.id).where(vr.provider_id == p.id,
                                          vr.invoice_no == invoice_no)) is not None:
        return _none("invoice_used", p.name, v.id, v.valid_until, budget_key=b.key)
    key = f"voucher:{code}"
    le = LedgerEntry.__table__.c
    if session.scalar(select(le.id).where(le.idempotency_key == key)) is not None:
        return _none("redeemed", p.name, v.id, v.valid_until, budget_key=b.key)
    last = session.scalar(select(le.balance_after).where(le.budget_id == b.id)
                          .order_by(le.id.desc()).limit(1))
    left = b.amount if last is None else last
    if left < amount:
        return _none("overspend", p.name, v.id, v.valid_until, amount=amount, left=left,
                     budget_key=b.key)
    red_id = int(session.execute(_INSERT_REDEMPTION, {
        "voucher_id": v.id, "provider_id": p.id, "service_id": service_id,
        "invoice_no": invoice_no, "invoice_amount": invoice_amount, "amount": amount,
        "payment_key": key, "settlement_id": None, "redeemed_by": user_id, "actor": actor,
        "redeemed_at": at}).scalar_one())
    share = v.cover_share.normalize()
    entry_id = int(session.execute(_INSERT_ENTRY, {
        "budget_id": b.id, "entry_type": "payment", "kind": "voucher_settlement",
        "payee_type": "provider", "payee_id": p.id, "payee_name": p.name, "amount": amount,
        "delta": -amount, "balance_after": left - amount, "decision_ref": key,
        "idempotency_key": key, "reverses_id": None,
        "memo": f"发票 {invoice_no}，金额 {invoice_amount}，抵扣比例 {share:f}",
        "created_by": user_id, "actor": actor, "created_at": at}).scalar_one())
    session.execute(insert(AuditEvent), [
        {"at": at, "actor_id": user_id, "actor": actor, "action": "vouchers.redeem",
         "object_type": "voucher", "object_id": str(v.id), "region_code": v.region_code,
         "before": None,
         "after": {"code": code, "provider_id": p.id, "invoice_no": invoice_no,
                   "invoice_amount": str(invoice_amount), "amount": str(amount),
                   "payment_key": key}, "ip": ip},
        {"at": at, "actor_id": user_id, "actor": actor, "action": "ledger.pay",
         "object_type": "ledger_entry", "object_id": str(entry_id),
         "region_code": b.region_code, "before": None,
         "after": {"budget": b.key, "kind": "voucher_settlement", "payee": p.name,
                   "payee_type": "provider", "payee_id": p.id, "amount": str(amount),
                   "decision_ref": key, "balance_after": str(left - amount)}, "ip": ip}])
    return Redeemed("ok", p.name, v.id, v.valid_until, red_id, amount, left - amount,
                    entry_id, b.key)
