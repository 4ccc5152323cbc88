"""Every SQL statement of vouchers: providers and services, the voucher issue (one
conflict-free bulk insert), redemptions, settlements and the scoped lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.db import ExactDecimal, is_sqlite
from kechuang.models import Enterprise, Institute, Region
from kechuang.models.ledger import (
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
