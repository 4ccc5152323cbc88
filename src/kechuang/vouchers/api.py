"""JSON API of innovation vouchers under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from kechuang.vouchers import service
from kechuang.vouchers.schemas import (
    IssueIn,
    IssueOut,
    ProviderIn,
    ProviderOut,
    RedeemIn,
    RedemptionOut,
    ServiceIn,
    ServiceOut,
    SettlementOut,
    Summary,
    VoucherPage,
)
from kechuang.web.deps import (
    BUREAU,
    DB,
    CurrentActor,
    Offset,
    OptYear,
    PageSize,
    RowId,
    Year,
    allow,
)

router = APIRouter(tags=["vouchers"])
PROVIDERS = frozenset({"institute", "enterprise"})


@router.get("/vouchers", dependencies=[allow(BUREAU, "enterprise")])
def vouchers(db: DB, actor: CurrentActor, year: OptYear = None, status: str | None = None,
             offset: Offset = 0, limit: PageSize = 50) -> VoucherPage:
    """The bureau: its region's vouchers; an enterprise: its own."""
    return service.voucher_page(db, actor, year=year, status=status, offset=offset,
                                limit=limit)


@router.get("/vouchers/summary", dependencies=[allow(BUREAU)])
def summary(db: DB, actor: CurrentActor, year: Year) -> Summary:
    return service.summary(db, actor, year)


@router.post("/vouchers/issue", dependencies=[allow("bureau_admin")])
def issue(db: DB, actor: CurrentActor, body: IssueIn) -> IssueOut:
    return service.do_issue(db, actor, region_code=body.region_code, year=body.year)


@router.get("/vouchers/providers", dependencies=[allow(BUREAU, PROVIDERS)])
def providers(db: DB, actor: CurrentActor) -> list[ProviderOut]:
    return service.providers(db, actor)


@router.post("/vouchers/providers", dependencies=[allow("bureau_admin")])
def register_provider(db: DB, actor: CurrentActor, body: ProviderIn) -> ProviderOut:
    return service.do_register_provider(db, actor, kind=body.kind, org_id=body.org_id,
                                        contact=body.contact)


@router.post("/vouchers/providers/{provider_id}/services",
             dependencies=[allow(BUREAU, PROVIDERS)])
def add_service(db: DB, actor: CurrentActor, provider_id: RowId, body: ServiceIn
                ) -> ServiceOut:
    return service.do_add_service(db, actor, provider_id=provider_id, category=body.category,
                                  name=body.name, description=body.description)


@router.post("/vouchers/redemptions", dependencies=[allow(BUREAU, PROVIDERS)])
def redeem(db: DB, actor: CurrentActor, body: RedeemIn) -> RedemptionOut:
    """Redeem a voucher against an invoice (the provider, or bureau staff at the window)."""
    return service.do_redeem(db, actor, voucher_code=body.voucher_code, uscc=body.uscc,
                             provider_id=body.provider_id, invoice_no=body.invoice_no,
                             invoice_amount=body.invoice_amount, service_id=body.service_id)


@router.get("/vouchers/redemptions", dependencies=[allow(BUREAU, PROVIDERS)])
def redemptions(db: DB, actor: CurrentActor) -> list[RedemptionOut]:
    return service.redemptions(db, actor)


@router.post("/vouchers/providers/{provider_id}/settlements", dependencies=[allow(BUREAU)])
def settle(db: DB, actor: CurrentActor, provider_id: RowId) -> SettlementOut:
    return service.do_settle(db, actor, provider_id=provider_id)
