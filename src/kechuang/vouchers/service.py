"""Innovation vouchers (科技创新券): issue to the enterprises the ``innovation_voucher`` policy
selects, register providers and their services, redeem against a provider's invoice, settle.

Who does what (docs/vouchers.md):

- the bureau (``bureau_admin``) issues vouchers and registers providers; bureau staff add
  services and settle;
- a provider is an **institute account** (``institute`` role, its institute registered as a
  provider) or an **enterprise account** whose enterprise is registered as a provider
  (testing labs, R&D service firms); it redeems vouchers presented by their holders, and
  bureau staff may redeem at the service window on a provider's behalf;
- an enterprise sees its own vouchers and payments.

Redemption pays the provider through the ledger (:func:`kechuang.ledger.service.do_pay`,
kind ``voucher_settlement``, idempotency key ``voucher:<code>``) in the same transaction,
so the budget ``vouchers:<region>:<year>`` is never exceeded (the ledger locks the budget
row), a voucher is paid at most once (the idempotency key, and the unique voucher id on the
redemption), and an expired voucher is refused before anything is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_in_scope
from kechuang.config import get_settings
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.xlsx import write_xlsx
from kechuang.ledger import engine as ledger_engine
from kechuang.ledger import service as ledger
from kechuang.ledger.schemas import rules as ledger_rules
from kechuang.models.base import utcnow
from kechuang.models.ledger import (
    VoucherProvider,
    VoucherRedemption,
    VoucherService,
    VoucherSettlement,
)
from kechuang.policy import service as policy_service
from kechuang.vouchers import engine
from kechuang.vouchers import repository as repo
from kechuang.vouchers.schemas import (
    IssueOut,
    Parameters,
    ProviderOut,
    RedemptionOut,
    ServiceOut,
    SettlementOut,
    Summary,
    VoucherOut,
    VoucherPage,
    rules,
)

ISSUE_ROLES = frozenset({"bureau_admin"})
BUREAU = frozenset({"bureau_admin", "bureau_staff"})


def budget_key(region_code: str, year: int) -> str:
    return f"vouchers:{region_code}:{year}"


def parameters_on(on: date) -> Parameters:
    return engine.parameters(rules(), on)


def _require(actor: Actor, roles: frozenset[str], zh: str, en: str) -> None:
    if actor.role not in roles:
        raise Forbidden(zh, en)


def _region_scope(session: Session, actor: Actor, region_code: str) -> None:
    path = repo.region_path(session, region_code)
    if path is None:
        raise InvalidInput(f"“地区代码”不存在：{region_code}", f"unknown region {region_code}",
                           field="region_code")
    if not region_in_scope(actor, path):
        raise Forbidden(f"地区 {region_code} 不在您的辖区内", "Region outside your scope")


# --------------------------------------------------------------------------- issue
def do_issue(session: Session, actor: Actor, *, region_code: str, year: int,
             on: date | None = None) -> IssueOut:
    """Issue one voucher for ``year`` to every enterprise in ``region_code`` that the latest
    covering run of the ``innovation_voucher`` policy finds eligible (set-based: one read of
    the run's verdicts, one conflict-free bulk insert). Enterprises that already hold a
    voucher for the year are skipped, so issuing again adds only the newly eligible.
    Opens the year's budget ``vouchers:<region>:<year>`` (annual budget parameter)."""
    _require(actor, ISSUE_ROLES, "只有科技局管理员可以发放创新券",
             "Only a bureau administrator issues vouchers")
    _region_scope(session, actor, region_code)
    r = rules()
    issued_on = on or engine.today_local()
    params = engine.parameters(r, issued_on)
    run = policy_service.latest_covering_runs(session, actor).get(r.policy)
    if run is None:
        raise Conflict(f"还没有覆盖您辖区的“{r.policy}”资格测算批次，请先运行政策测算",
                       f"No eligibility run of '{r.policy}' covers your region yet",
                       field="policy_run")
    face = engine.face_value(run.parameters or {}, r)
    key = budget_key(region_code, year)
    try:  # a budget the bureau opened by its own decision stands; else the annual parameter
        ledger.get_budget(session, actor, key)
    except NotFound:
        ledger.do_open_budget(session, actor, key=key, title=f"{year} 年科技创新券",
                              region_code=region_code, year=year, amount=params.annual_budget,
                              source=_param_source(r, issued_on))
    verdicts = policy_service.read_results(session, run.id, ["verdict"])
    ids = verdicts.loc[verdicts["verdict"].isin(r.eligible_verdicts),
                       "enterprise_id"].to_numpy(dtype=np.int64)
    targets = repo.enterprises_in(session, actor, region_code, ids)
    secret = get_settings().secret_key
    until = engine.valid_until(issued_on, params.validity_days)
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"code": engine.voucher_code(secret, year, int(eid)), "enterprise_id": int(eid),
         "region_code": reg, "year": year, "budget_key": key, "amount": face,
         "cover_share": params.cover_share, "issued_on": issued_on, "valid_until": until,
         "policy_run_id": run.id, "rules_id": r.id, "created_by": actor.user_id,
         "created_at": now}
        for eid, reg in zip(targets["enterprise_id"], targets["region_code"], strict=True)]
    inserted = repo.insert_vouchers(session, rows)
    audit.record(session, actor, "vouchers.issue", "voucher", key,
                 after={"policy_run_id": run.id, "eligible": len(rows), "issued": inserted,
                        "amount": face, "cover_share": params.cover_share,
                        "valid_until": until}, region_code=region_code)
    return IssueOut(policy_run_id=run.id, budget_key=key, year=year, eligible=len(rows),
                    issued=inserted, already=len(rows) - inserted, amount=face,
                    cover_share=params.cover_share, valid_until=until)


def _param_source(r: Any, on: date) -> str:
    started = [e for e in r.annual_budget if e.valid_from <= on]
    entry = max(started, key=lambda e: e.valid_from) if started else r.annual_budget[0]
    return entry.source[:400]


# --------------------------------------------------------------------------- providers
def _provider_out(p: VoucherProvider, services: int = 0, redeemed: Decimal | None = None,
                  unsettled: Decimal | None = None) -> ProviderOut:
    return ProviderOut(id=p.id, region_code=p.region_code, kind=p.kind,
                       institute_id=p.institute_id, enterprise_id=p.enterprise_id, name=p.name,
                       contact=p.contact, active=p.active, services=services,
                       redeemed=redeemed or Decimal(0), unsettled=unsettled or Decimal(0))


def do_register_provider(session: Session, actor: Actor, *, kind: str, org_id: int,
                         contact: str = "") -> ProviderOut:
    """Register an institute or an enterprise as a voucher service provider (bureau)."""
    _require(actor, ISSUE_ROLES, "只有科技局管理员可以认定服务机构",
             "Only a bureau administrator registers providers")
    if kind == "institute":
        org = repo.institute(session, org_id)
        existing = repo.provider_of(session, institute_id=org_id)
    elif kind == "enterprise":
        org = repo.enterprise(session, org_id)  # type: ignore[assignment]
        existing = repo.provider_of(session, enterprise_id=org_id)
    else:
        raise InvalidInput(f"“机构类型”应为 institute 或 enterprise，实为 {kind}",
                           f"'kind' must be institute or enterprise, got {kind}", field="kind")
    if org is None:
        raise NotFound(f"“机构编号”不存在：{org_id}", f"organisation {org_id} not found",
                       field="org_id")
    region = org.region_code
    if region is None:
        raise InvalidInput("该机构没有所在地区，不能认定", "organisation has no region",
                           field="org_id")
    _region_scope(session, actor, region)
    if existing is not None:
        raise Conflict(f"“{org.name}”已是服务机构（编号 {existing.id}）",
                       f"'{org.name}' is already provider {existing.id}", field="org_id")
    p = VoucherProvider(region_code=region, kind=kind,
                        institute_id=org_id if kind == "institute" else None,
                        enterprise_id=org_id if kind == "enterprise" else None,
                        name=org.name, contact=(contact or "").strip()[:200],
                        created_by=actor.user_id)
    repo.add(session, p)
    audit.record(session, actor, "vouchers.register_provider", "voucher_provider", p.id,
                 after={"kind": kind, "org_id": org_id, "name": org.name}, region_code=region)
    return _provider_out(p)


def do_register_provider_by_code(session: Session, actor: Actor, *, kind: str, code: str,
                                 contact: str = "") -> ProviderOut:
    """The page's form: the organisation named by an institute code or an enterprise's
    unified social credit code (what a bureau officer has at hand), then
    :func:`do_register_provider`."""
    code = (code or "").strip().upper() if kind == "enterprise" else (code or "").strip()
    if kind not in ("institute", "enterprise"):
        raise InvalidInput(f"“机构类型”应为 institute 或 enterprise，实为 {kind}",
                           f"'kind' must be institute or enterprise, got {kind}", field="kind")
    if not code:
        raise InvalidInput("“机构代码”不能为空（院所代码或统一社会信用代码）",
                           "'code' is required (institute code or credit code)", field="code")
    _require(actor, ISSUE_ROLES, "只有科技局管理员可以认定服务机构",
             "Only a bureau administrator registers providers")
    org_id = repo.org_id_by_code(session, kind, code)
    if org_id is None:
        label = "院所代码" if kind == "institute" else "统一社会信用代码"
        raise NotFound(f"“{label}”不存在：{code}", f"no {kind} with code {code}", field="code")
    return do_register_provider(session, actor, kind=kind, org_id=org_id, contact=contact)


def unregistered_institutes(session: Session, actor: Actor) -> list[tuple[int, str, str]]:
    """Institutes of the bureau's region that could still be registered (the form's list)."""
    if not actor.is_bureau:
        return []
    return [(r.id, r.code, r.name) for r in repo.unregistered_institutes(session, actor)]


def _own_provider(session: Session, actor: Actor) -> VoucherProvider | None:
    if actor.role == "institute" and actor.institute_id is not None:
        return repo.provider_of(session, institute_id=actor.institute_id)
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return repo.provider_of(session, enterprise_id=actor.enterprise_id)
    return None


def _provider_for(session: Session, actor: Actor, provider_id: int) -> VoucherProvider:
    """The provider, if the actor is it or a bureau user over its region."""
    if not actor.is_bureau:
        own = _own_provider(session, actor)
        if own is None:
            # the role may redeem, but this organisation has not been registered yet
            raise InvalidInput("本机构尚未登记为创新券服务机构，请先向科技局申请登记",
                               "Your organisation is not a registered voucher provider yet; "
                               "ask the bureau to register it", field="provider_id")
        if own.id != provider_id:
            raise Forbidden("只能以本机构的名义操作", "You may act only for your own organisation",
                            field="provider_id")
        return own
    p = repo.provider(session, provider_id)
    if p is None:
        raise NotFound(f"“服务机构”不存在：{provider_id}", f"provider {provider_id} not found",
                       field="provider_id")
    _region_scope(session, actor, p.region_code)
    return p


def my_provider(session: Session, actor: Actor) -> ProviderOut | None:
    p = _own_provider(session, actor)
    return None if p is None else _provider_out(p)


def do_set_provider_active(session: Session, actor: Actor, provider_id: int,
                           active: bool) -> ProviderOut:
    _require(actor, ISSUE_ROLES, "只有科技局管理员可以暂停或恢复服务机构",
             "Only a bureau administrator suspends providers")
    p = _provider_for(session, actor, provider_id)
    before = p.active
    p.active = active
    audit.record(session, actor, "vouchers.set_provider_active", "voucher_provider", p.id,
                 before={"active": before}, after={"active": active},
                 region_code=p.region_code)
    return _provider_out(p)


def do_add_service(session: Session, actor: Actor, *, provider_id: int, category: str,
                   name: str, description: str = "") -> ServiceOut:
    """A service a provider offers (bureau staff, or the provider itself)."""
    p = _provider_for(session, actor, provider_id)
    r = rules()
    if category not in r.categories:
        raise InvalidInput(f"“服务类别”未知：{category}（可选：{'、'.join(r.categories)}）",
                           f"unknown service category '{category}'", field="category")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("“服务名称”不能为空，且不超过 200 字", "'name' is required (≤ 200)",
                           field="name")
    svc = VoucherService(provider_id=p.id, category=category, name=name,
                         description=(description or "").strip()[:2000])
    repo.add(session, svc)
    audit.record(session, actor, "vouchers.add_service", "voucher_service", svc.id,
                 after={"provider_id": p.id, "category": category, "name": name},
                 region_code=p.region_code)
    return ServiceOut.model_validate(svc)


def providers(session: Session, actor: Actor) -> list[ProviderOut]:
    if not actor.is_bureau:
        own = _own_provider(session, actor)
        return [] if own is None else [_provider_out(own)]
    return [_provider_out(row[0], row.n or 0, row.red, row.uns)
            for row in repo.providers(session, actor)]


def services_of(session: Session, provider_ids: list[int]) -> list[ServiceOut]:
    return [ServiceOut.model_validate(s) for s in repo.services(session, provider_ids)]


# --------------------------------------------------------------------------- redeem
def _redemption_out(red: VoucherRedemption, code: str, provider_name: str, *,
                    replayed: bool = False) -> RedemptionOut:
    return RedemptionOut(id=red.id, voucher_id=red.voucher_id, voucher_code=code,
                         provider_id=red.provider_id, provider_name=provider_name,
                         service_id=red.service_id, invoice_no=red.invoice_no,
                         invoice_amount=red.invoice_amount, amount=red.amount,
                         payment_key=red.payment_key, settlement_id=red.settlement_id,
                         actor=red.actor, redeemed_at=red.redeemed_at, replayed=replayed)


def do_redeem(session: Session, actor: Actor, *, voucher_code: str, uscc: str,
              provider_id: int, invoice_no: str, invoice_amount: Any,
              service_id: int | None = None, today: date | None = None) -> RedemptionOut:
    """Redeem a voucher against a provider's invoice: the invoice amount × the voucher's
    covered share, floored to 分 and capped at its face value, paid to the provider through
    the ledger in this transaction. Refused (nothing written) when the voucher does not
    exist or belongs to another enterprise, has expired, was redeemed, the provider is
    suspended or is the holder itself, or the budget has run out."""
    if not (actor.is_bureau or actor.role in ("institute", "enterprise")):
        raise Forbidden("只有服务机构或科技局可以兑付创新券",
                        "Only a provider or the bureau redeems vouchers")
    code = engine.normalise_code(voucher_code)
    if not code:
        raise InvalidInput("“创新券编号”不能为空", "'voucher code' is required",
                           field="voucher_code")
    invoice_no = (invoice_no or "").strip()
    if not invoice_no or len(invoice_no) > 64:
        raise InvalidInput("“发票号码”不能为空，且不超过 64 字", "'invoice number' is required",
                           field="invoice_no")
    amount_in = ledger_engine.parse_amount(invoice_amount, "发票金额", ledger_rules())
    if not ledger_engine.may_post("voucher_settlement", actor.role, ledger_rules()):
        raise Forbidden("您的角色不能登记“创新券兑付”付款",
                        "Your role may not post 'voucher_settlement' payments")
    if actor.is_bureau:  # at the service window: the provider must be in the bureau's region
        _provider_for(session, actor, provider_id)
        owner_kind, owner_id = None, None
    elif actor.role == "institute" and actor.institute_id is not None:
        owner_kind, owner_id = "institute", actor.institute_id
    elif actor.role == "enterprise" and actor.enterprise_id is not None:
        owner_kind, owner_id = "enterprise", actor.enterprise_id
    else:
        raise _not_registered()
    holder = (uscc or "").strip().upper()
    now = utcnow()
    done = repo.redeem(session, code=code, uscc=holder, provider_id=provider_id,
                       owner_kind=owner_kind, owner_id=owner_id, service_id=service_id,
                       invoice_no=invoice_no, invoice_amount=amount_in,
                       today=today or engine.today_local(), user_id=actor.user_id,
                       actor=actor.username, at=now, ip=actor.ip)
    if done.status == "ok":
        assert done.redemption_id is not None and done.amount is not None
        return RedemptionOut(id=done.redemption_id, voucher_id=done.voucher_id or 0,
                             voucher_code=code, provider_id=provider_id,
                             provider_name=done.provider_name or "", service_id=service_id,
                             invoice_no=invoice_no, invoice_amount=amount_in,
                             amount=done.amount, payment_key=f"voucher:{code}",
                             ledger_entry_id=done.entry_id, settlement_id=None,
                             actor=actor.username, redeemed_at=now, replayed=False)
    return _refused(session, done, code=code, provider_id=provider_id, invoice_no=invoice_no)


def _not_registered() -> InvalidInput:
    return InvalidInput("本机构尚未登记为创新券服务机构，请先向科技局申请登记",
                        "Your organisation is not a registered voucher provider yet; "
                        "ask the bureau to register it", field="provider_id")


def _refused(session: Session, done: repo.Redeemed, *, code: str, provider_id: int,
             invoice_no: str) -> RedemptionOut:
    """A redemption that wrote nothing: the clear error for its status (or, for the same
    request again, the redemption it already made)."""
    name = done.provider_name or ""
    status = done.status
    if status == "not_registered":
        raise _not_registered()
    if status == "not_own":
        raise Forbidden("只能以本机构的名义操作", "You may act only for your own organisation",
                        field="provider_id")
    if status == "suspended":
        raise Conflict(f"服务机构“{name}”已暂停，不能兑付", f"Provider '{name}' is suspended",
                       field="provider_id")
    if status == "no_match":
        raise NotFound("“创新券编号”与“统一社会信用代码”不匹配，或创新券不存在",
                       "voucher code and credit code do not match", field="voucher_code")
    if status == "own":
        raise Forbidden("服务机构不能兑付本企业持有的创新券",
                        "A provider may not redeem its own voucher", field="provider_id")
    if status == "bad_service":
        raise InvalidInput("“服务项目”不属于该服务机构或已停用",
                           "service does not belong to the provider", field="service_id")
    if status == "expired":
        raise Conflict(f"创新券 {code} 已于 {done.valid_until} 过期，不能兑付",
                       f"Voucher {code} expired on {done.valid_until}", field="voucher_code")
    if status == "too_small":
        raise InvalidInput(f"发票金额按抵扣比例计算后不足 1 分（{done.amount} 元），不能兑付",
                           "the covered share of the invoice is less than one fen",
                           field="invoice_amount")
    if status == "no_budget":
        raise NotFound(f"“预算编号”不存在：{done.budget_key}",
                       f"budget '{done.budget_key}' does not exist", field="budget_key")
    if status == "invoice_used":
        raise Conflict(f"“发票号码”{invoice_no} 已用于本机构的另一次兑付",
                       f"invoice {invoice_no} was already used", field="invoice_no")
    if status == "overspend":
        assert done.left is not None and done.amount is not None
        ledger_engine.post(done.left, "payment", done.amount, budget_key=done.budget_key or "")
    if status == "redeemed" and done.redemption_id is not None:
        red = repo.redemption_by_id(session, done.redemption_id)
        if red is not None and red.provider_id == provider_id and red.invoice_no == invoice_no:
            return _redemption_out(red, code, name, replayed=True)
        when = f"已于 {red.redeemed_at:%Y-%m-%d} " if red is not None else "已"
        raise Conflict(f"创新券 {code} {when}兑付，不能重复兑付",
                       f"Voucher {code} was already redeemed", field="voucher_code")
    raise Conflict(f"创新券 {code} 已被兑付，不能重复兑付",
                   f"Voucher {code} was already redeemed", field="voucher_code")

# --------------------------------------------------------------------------- settle
def do_settle(session: Session, actor: Actor, *, provider_id: int, reference: str = ""
              ) -> SettlementOut:
    """A settlement statement of a provider's unsettled redemptions (already paid through the
    ledger one by one): the total handed to the treasury for one transfer."""
    _require(actor, BUREAU, "只有科技局可以结算", "Only the bureau settles")
    p = _provider_for(session, actor, provider_id)
    n, total, ids = repo.unsettled_totals(session, p.id)
    if n == 0:
        raise Conflict(f"“{p.name}”没有待结算的兑付", f"'{p.name}' has nothing to settle",
                       field="provider_id")
    st = VoucherSettlement(provider_id=p.id, region_code=p.region_code, redemptions=n,
                           total=total, reference=(reference or "").strip()[:200],
                           created_by=actor.user_id, actor=actor.username)
    repo.add(session, st)
    marked = repo.mark_settled(session, ids, st.id)
    if marked != n:
        raise Conflict("部分兑付已被另一结算单结算，请刷新后重试",
                       "Some redemptions were settled concurrently")
    audit.record(session, actor, "vouchers.settle", "voucher_settlement", st.id,
                 after={"provider_id": p.id, "redemptions": n, "total": total},
                 region_code=p.region_code)
    return SettlementOut(id=st.id, provider_id=p.id, provider_name=p.name, redemptions=n,
                         total=total, reference=st.reference, actor=st.actor,
                         created_at=st.created_at)


def settlements(session: Session, actor: Actor, provider_id: int | None = None
                ) -> list[SettlementOut]:
    if not actor.is_bureau:
        own = _own_provider(session, actor)
        if own is None:
            return []
        provider_id = own.id
    return [SettlementOut(id=s.id, provider_id=s.provider_id, provider_name=name,
                          redemptions=s.redemptions, total=s.total, reference=s.reference,
                          actor=s.actor, created_at=s.created_at)
            for s, name in repo.settlements(session, actor if actor.is_bureau else None,
                                            provider_id)]


def settlement_xlsx(session: Session, actor: Actor, settlement_id: int) -> bytes:
    _require(actor, BUREAU, "只有科技局可以导出结算单", "Only the bureau exports settlements")
    rows = repo.redemptions(session, settlement_id=settlement_id, actor=actor, limit=None)
    if not rows:
        raise NotFound(f"结算单 {settlement_id} 不存在", f"settlement {settlement_id} not found")
    body = write_xlsx([("结算明细", ["序号", "创新券编号", "服务机构", "发票号码", "发票金额（元）",
                                  "兑付金额（元）", "台账幂等键", "兑付时间（UTC）"],
                        [[i, code, name, r.invoice_no, r.invoice_amount, r.amount,
                          r.payment_key, r.redeemed_at.strftime("%Y-%m-%d %H:%M")]
                         for i, (r, code, name) in enumerate(rows, start=1)])])
    audit.record(session, actor, "vouchers.export_settlement", "voucher_settlement",
                 settlement_id, after={"redemptions": len(rows)})
    return body


# --------------------------------------------------------------------------- reads
def _voucher_out(row: Any, today: date) -> VoucherOut:
    v, name, uscc, red_amount, provider_name = row
    return VoucherOut(id=v.id, code=v.code, enterprise_id=v.enterprise_id,
                      enterprise_name=name, uscc=uscc, region_code=v.region_code, year=v.year,
                      budget_key=v.budget_key, amount=v.amount, cover_share=v.cover_share,
                      issued_on=v.issued_on, valid_until=v.valid_until,
                      status=engine.status(red_amount is not None, v.valid_until, today),
                      redeemed_amount=red_amount, provider_name=provider_name)


def voucher_page(session: Session, actor: Actor, *, year: int | None = None,
                 status: str | None = None, offset: int = 0, limit: int = 50) -> VoucherPage:
    """Vouchers the actor may see: the bureau its region's, an enterprise its own."""
    if not (actor.is_bureau or actor.role == "enterprise"):
        raise Forbidden("您的角色不能查看创新券", "Your role may not see vouchers")
    today = engine.today_local()
    total, rows = repo.vouchers(session, actor, year=year, status=status, today=today,
                                offset=offset, limit=limit)
    return VoucherPage(total=total, offset=offset, limit=limit,
                       vouchers=[_voucher_out(r, today) for r in rows])


def summary(session: Session, actor: Actor, year: int, region_code: str | None = None
            ) -> Summary:
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以查看创新券汇总", "Only the bureau sees the summary")
    region = region_code or actor.region_code or ""
    key = budget_key(region, year)
    s = repo.summary(session, actor, year, engine.today_local())
    try:
        left: Decimal | None = ledger.remaining(session, key)
        budget = ledger.get_budget(session, actor, key).amount
    except (NotFound, Forbidden):
        left = budget = None
    return Summary(year=year, budget_key=key, budget=budget, remaining=left, issued=s.issued,
                   issued_value=s.issued_value, redeemed=s.redeemed,
                   redeemed_value=s.redeemed_value, expired=s.expired,
                   providers=len(repo.providers(session, actor)))


def redemptions(session: Session, actor: Actor, provider_id: int | None = None
                ) -> list[RedemptionOut]:
    if actor.is_bureau:
        rows = repo.redemptions(session, provider_id=provider_id, actor=actor)
    else:
        own = _own_provider(session, actor)
        if own is None:  # not a registered provider: nothing of its own to list
            return []
        rows = repo.redemptions(session, provider_id=own.id)
    return [_redemption_out(r, code, name) for r, code, name in rows]
