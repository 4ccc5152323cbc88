"""Technology finance: the actions (``do_*``, one per state change, each with its audit row;
never a commit) and the reads behind the pages, the API and the commands.

Who sees what:

- the bureau sees everything in its region scope;
- an enterprise sees its own needs, matches, credit line, consents and the log of every
  bank view of its data;
- a bank sees its products and the needs its products fit. The identity and the data of
  an enterprise reach it only while that enterprise's consent to *this* bank is active
  (the repository puts the consent into the SQL); every such view writes an access row
  (shown to the enterprise) and an audit row. Counts of non-consenting enterprises below
  the disclosure threshold (``data/finance.yaml``) are suppressed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import yaml

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_in_scope
from kechuang.config import get_settings
from kechuang.finance import engine
from kechuang.finance import repository as repo
from kechuang.finance.parameters import Rules, load_cases, rules_at
from kechuang.finance.schemas import (
    BankFiguresOut,
    BankMatchesOut,
    BankNeedOut,
    BankNeedRow,
    ConsentIn,
    ConsultationIn,
    DefaultIn,
    MatchOut,
    MatchRunOut,
    MonthIn,
    NeedIn,
    NeedOut,
    OutcomeIn,
    ProductIn,
    ProductOut,
    RecoveryIn,
)
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.xlsx import write_xlsx
from kechuang.ledger import service as ledger
from kechuang.models import Bank, Enterprise
from kechuang.models.base import utcnow
from kechuang.models.finance import (
    FinanceCompensation,
    FinanceConsent,
    FinanceConsultation,
    FinanceLoan,
    FinanceMatchRun,
    FinanceMonth,
    FinanceNeed,
    FinanceOutcome,
    FinanceProduct,
)
from kechuang.policy.loader import get_policy
from kechuang.policy.runs import input_codes, input_years
from kechuang.policy.service import describe_missing, policy_inputs

Progress = Callable[[str, int, int], None]
KIND_LABELS = {
    "credit": ("信用贷款", "Credit loan"),
    "ip_pledge": ("知识产权质押贷", "IP pledge"),
    "guarantee": ("担保贷款", "Guaranteed loan"),
    "points_loan": ("积分贷", "Innovation-points loan"),
}
POOL_PREFIX = "finance:risk_pool"


def today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def rules(on: date | None = None) -> Rules:
    return rules_at(on or today())


def _bank_id(actor: Actor) -> int:
    if actor.role != "bank" or actor.bank_id is None:
        raise Forbidden("只有金融机构账号可以使用此功能", "Only a bank account may do this")
    return actor.bank_id


def _enterprise_id(actor: Actor) -> int:
    if actor.role != "enterprise" or actor.enterprise_id is None:
        raise Forbidden("只有企业账号可以使用此功能", "Only an enterprise account may do this")
    return actor.enterprise_id


def _bureau(actor: Actor) -> None:
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以使用此功能", "Only the bureau may do this")


def county_of(path: str) -> str:
    """The county (third level) on a region path; the deepest code when shallower."""
    codes = [c for c in path.strip("/").split("/") if c]
    return codes[2] if len(codes) > 2 else codes[-1]


def kind_label(kind: str, locale: str = "zh") -> str:
    pair = KIND_LABELS.get(kind, (kind, kind))
    return pair[1 if locale == "en" else 0]


# --------------------------------------------------------------------------- products
def product_out(p: FinanceProduct, bank: Bank | None) -> ProductOut:
    return ProductOut(
        id=p.id,
        code=p.code,
        bank_id=p.bank_id,
        bank=bank.name if bank else "",
        name=p.name,
        kind=p.kind,
        amount_min_wan=p.amount_min_wan,
        amount_max_wan=p.amount_max_wan,
        term_min_months=p.term_min_months,
        term_max_months=p.term_max_months,
        rate_pct=p.rate_pct,
        status=p.status,
        eligibility=p.eligibility,
    )


def product_list(
    session: Any, actor: Actor, *, statuses: list[str] | None = None
) -> list[ProductOut]:
    """Published products for everyone; a bank also sees its own drafts; the bureau all."""
    if actor.is_bureau:
        items = repo.products(session, actor, statuses=statuses)
    elif actor.role == "bank":
        own = repo.products(session, Actor.public(), bank_id=actor.bank_id)
        items = own + [
            p for p in repo.published_in_region(session, None) if p.bank_id != actor.bank_id
        ]
    else:
        items = repo.published_in_region(session, None)
    banks = repo.banks_by_id(session, {p.bank_id for p in items})
    return [product_out(p, banks.get(p.bank_id)) for p in items]


def tree_yaml(tree: dict[str, Any]) -> str:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


def do_create_product(session: Any, actor: Actor, data: ProductIn) -> FinanceProduct:
    """A bank submits a product; it is offered only after the bureau approves it."""
    bank_id = _bank_id(actor)
    bank = repo.bank(session, bank_id)
    if bank is None:
        raise NotFound("银行不存在", "bank not found")
    tree = engine.parse_tree(data.eligibility, data.name)
    now = utcnow()
    p = repo.add(
        session,
        FinanceProduct(
            bank_id=bank_id,
            code=repo.next_product_code(session, bank.code),
            name=data.name,
            kind=data.kind,
            amount_min_wan=data.amount_min_wan,
            amount_max_wan=data.amount_max_wan,
            term_min_months=data.term_min_months,
            term_max_months=data.term_max_months,
            rate_pct=data.rate_pct,
            description=data.description,
            eligibility=tree,
            status="pending",
            region_code=bank.region_code,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        ),
    )
    audit.record(
        session,
        actor,
        "finance.product_submit",
        "finance_product",
        p.id,
        after={"code": p.code, "name": p.name, "kind": p.kind, "tree": tree},
        region_code=bank.region_code,
    )
    return p


def _own_product(session: Any, actor: Actor, product_id: int) -> FinanceProduct:
    p = repo.get(session, FinanceProduct, product_id)
    if p is None or p.bank_id != _bank_id(actor):
        raise NotFound("产品不存在", "product not found")
    return p


def _scoped_product(session: Any, actor: Actor, product_id: int) -> FinanceProduct:
    p = repo.get(session, FinanceProduct, product_id)
    path = repo.region_path(session, p.region_code) if p else None
    if p is None or path is None or not region_in_scope(actor, path):
        raise NotFound("产品不存在", "product not found")
    return p


def do_review_product(
    session: Any, actor: Actor, product_id: int, *, approve: bool, note: str = ""
) -> FinanceProduct:
    _bureau(actor)
    p = _scoped_product(session, actor, product_id)
    if p.status != "pending":
        raise Conflict(
            f"产品 {p.code} 当前状态为 {p.status}，不在待审核状态",
            f"product {p.code} is not pending",
        )
    before = p.status
    p.status = "published" if approve else "rejected"
    p.review_note = note[:2000]
    p.reviewed_by, p.reviewed_at, p.updated_at = actor.user_id, utcnow(), utcnow()
    audit.record(
        session,
        actor,
        "finance.product_review",
        "finance_product",
        p.id,
        before={"status": before},
        after={"status": p.status, "note": p.review_note},
        region_code=p.region_code,
    )
    return p


def do_withdraw_product(session: Any, actor: Actor, product_id: int) -> FinanceProduct:
    p = _own_product(session, actor, product_id)
    if p.status == "withdrawn":
        return p
    before = p.status
    p.status, p.updated_at = "withdrawn", utcnow()
    audit.record(
        session,
        actor,
        "finance.product_withdraw",
        "finance_product",
        p.id,
        before={"status": before},
        after={"status": p.status},
        region_code=p.region_code,
    )
    return p


# --------------------------------------------------------------------------- months, needs
def _region_for(session: Any, actor: Actor, region_code: str | None) -> tuple[str, str]:
    code = region_code or actor.region_code
    if code is None:
        raise InvalidInput(
            "请指定地区代码 region_code", "region_code is required", field="region_code"
        )
    path = repo.region_path(session, code)
    if path is None:
        raise InvalidInput(f"地区代码不存在：{code}", f"unknown region {code}", field="region_code")
    if not region_in_scope(actor, path):
        raise Forbidden(f"地区 {code} 不在您的辖区内", "Region outside your scope")
    return code, path


def do_open_month(session: Any, actor: Actor, data: MonthIn) -> FinanceMonth:
    _bureau(actor)
    code, _ = _region_for(session, actor, data.region_code)
    if repo.month_of(session, code, data.month) is not None:
        raise Conflict(
            f"{data.month} 月的需求征集已开启", f"month {data.month} is already open", field="month"
        )
    first_day = date(data.month // 100, data.month % 100, 1)
    if data.closes_on < first_day:
        raise InvalidInput(
            f"截止日期 {data.closes_on} 早于该月第一天",
            "closes_on is before the month starts",
            field="closes_on",
        )
    m = repo.add(
        session,
        FinanceMonth(
            region_code=code,
            month=data.month,
            closes_on=data.closes_on,
            status="open",
            opened_by=actor.user_id,
        ),
    )
    audit.record(
        session,
        actor,
        "finance.month_open",
        "finance_month",
        m.id,
        after={"month": m.month, "closes_on": m.closes_on},
        region_code=code,
    )
    return m


def _scoped_month(session: Any, actor: Actor, month_id: int) -> FinanceMonth:
    m = repo.get(session, FinanceMonth, month_id)
    path = repo.region_path(session, m.region_code) if m else None
    if m is None or path is None or not region_in_scope(actor, path):
        raise NotFound("征集月份不存在", "collection month not found")
    return m


def do_close_month(session: Any, actor: Actor, month_id: int) -> FinanceMonth:
    _bureau(actor)
    m = _scoped_month(session, actor, month_id)
    if m.status == "closed":
        return m
    m.status, m.closed_at = "closed", utcnow()
    audit.record(
        session,
        actor,
        "finance.month_close",
        "finance_month",
        m.id,
        after={"month": m.month},
        region_code=m.region_code,
    )
    return m


def do_remind(session: Any, actor: Actor, month_id: int) -> int:
    """Remind every technology enterprise of the month's region that has not answered (one
    reminder each, shown on its finance page); returns how many were added."""
    _bureau(actor)
    m = _scoped_month(session, actor, month_id)
    if m.status != "open":
        raise Conflict("该月征集已截止，不能再提醒", "the month is closed")
    path = repo.region_path(session, m.region_code) or "/"
    n = repo.insert_reminders(session, m, path)
    audit.record(
        session,
        actor,
        "finance.remind",
        "finance_month",
        m.id,
        after={"month": m.month, "reminders": n},
        region_code=m.region_code,
    )
    return n


def _is_editable(m: FinanceMonth, on: date) -> bool:
    return m.status == "open" and on <= m.closes_on


def current_month(session: Any, enterprise: Enterprise) -> FinanceMonth | None:
    path = repo.region_path(session, enterprise.region_code) or "/"
    on = today()
    for m in repo.open_months_for(session, path):
        if _is_editable(m, on):
            return m
    return None


def do_submit_need(session: Any, actor: Actor, data: NeedIn) -> FinanceNeed:
    """Submit or edit the enterprise's need of the open month (editable until it closes);
    the need is matched right away (same engine as the county-wide pass)."""
    eid = _enterprise_id(actor)
    ent = repo.visible_enterprise(session, actor, eid)
    if ent is None:
        raise NotFound("企业不存在", "enterprise not found")
    month = current_month(session, ent)
    if month is None:
        raise Conflict("当前没有开放的融资需求征集月份", "no collection month is open")
    need = repo.need_for(session, eid, month.id)
    values = {
        "amount_wan": data.amount_wan,
        "term_months": data.term_months,
        "purpose": data.purpose,
        "collateral": list(data.collateral),
        "patents_offered": data.patents_offered,
        "urgency": data.urgency,
    }
    if need is None:
        need = repo.add(
            session,
            FinanceNeed(
                enterprise_id=eid,
                month_id=month.id,
                region_code=ent.region_code,
                status="open",
                **values,
            ),
        )
        audit.record(
            session,
            actor,
            "finance.need_submit",
            "finance_need",
            need.id,
            after={"month": month.month, **values},
            region_code=ent.region_code,
        )
    else:
        if need.status != "open":
            raise Conflict("该需求已办结，不能修改", "the need is no longer open")
        before = {k: getattr(need, k) for k in values}
        for k, v in values.items():
            setattr(need, k, v)
        need.updated_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            "finance.need_edit",
            "finance_need",
            need.id,
            before=before,
            after=values,
            region_code=ent.region_code,
        )
    do_match(session, actor, need_ids=[need.id], scope_actor=actor)
    return need


def do_withdraw_need(session: Any, actor: Actor, need_id: int) -> FinanceNeed:
    eid = _enterprise_id(actor)
    need = repo.get(session, FinanceNeed, need_id)
    if need is None or need.enterprise_id != eid:
        raise NotFound("需求不存在", "need not found")
    if need.status != "open":
        raise Conflict("该需求已办结", "the need is no longer open")
    need.status, need.updated_at = "withdrawn", utcnow()
    audit.record(
        session,
        actor,
        "finance.need_withdraw",
        "finance_need",
        need.id,
        after={"status": "withdrawn"},
        region_code=need.region_code,
    )
    return need


# --------------------------------------------------------------------------- matching
@dataclass
class MatchSummary:
    run_id: int
    needs: int
    products: int
    pairs: int
    as_of: date


def _needs_arrays(table: dict[str, np.ndarray], points: dict[int, float]) -> engine.Needs:
    coll = table["collateral"]
    has_patent = np.array([("patent" in (c or [])) for c in coll], dtype=bool) & (
        table["patents_offered"] > 0
    )
    has_guar = np.array([("guarantee" in (c or [])) for c in coll], dtype=bool)
    pct = np.array([points.get(int(e), np.nan) for e in table["enterprise_id"]], dtype=float)
    return engine.Needs(
        table["need_id"], table["amount_wan"], table["term_months"], has_patent, has_guar, pct
    )


def _products_arrays(items: list[FinanceProduct]) -> engine.Products:
    return engine.Products(
        np.array([p.id for p in items], dtype=np.int64),
        np.array([p.bank_id for p in items], dtype=np.int64),
        np.array([p.kind for p in items], dtype=object),
        np.array([float(p.amount_min_wan) for p in items]),
        np.array([float(p.amount_max_wan) for p in items]),
        np.array([p.term_min_months for p in items], dtype=float),
        np.array([p.term_max_months for p in items], dtype=float),
        np.array([float(p.rate_pct) for p in items]),
    )


def do_match(
    session: Any,
    actor: Actor,
    *,
    need_ids: list[int] | None = None,
    as_of: date | None = None,
    scope_actor: Actor | None = None,
    progress: Progress | None = None,
) -> MatchSummary:
    """Match every open need in the actor's scope (or ``need_ids``) against every published
    product in one pass: the policy engine evaluates each distinct eligibility tree over
    the enterprises with needs (facts and the latest published points read once), NumPy
    scores all pairs, the best are written in bulk. With ``need_ids`` the rows of those
    needs in the latest covering run are replaced (a new run when there is none)."""
    step = progress or (lambda *_: None)
    as_of = as_of or today()
    r = rules(as_of)
    scope = scope_actor or actor
    step("读取需求与产品 reading needs and products", 0, 4)
    table = repo.open_need_table(session, scope, need_ids)
    items = repo.published_in_region(session, None)
    loan_policy = get_policy("points_loan")
    trees = [p.eligibility for p in items]
    lps = [engine.tree_policy(t) for t in {engine.tree_key(t): t for t in trees}.values()]
    ents = np.unique(table["enterprise_id"])
    step("读取企业数据 reading facts", 1, 4)
    data = (
        policy_inputs(
            session,
            scope,
            input_years(as_of),
            enterprise_ids=ents.tolist(),
            codes=input_codes([*lps, loan_policy]),
        )
        if len(ents)
        else None
    )
    step("评价与打分 evaluating", 2, 4)
    points: dict[int, float] = {}
    lines: dict[int, tuple[Decimal | None, str | None]] = {}
    if data is not None and len(data):
        per = data.drop_duplicates("enterprise_id", keep="last")
        points = {
            int(e): float(p)
            for e, p in zip(per["enterprise_id"], per["points_percentile"], strict=True)
            if p == p
        }
        lines = _credit_lines(data, loan_policy, as_of)
        row_of = {int(e): i for i, e in enumerate(ents)}
        verdict_ent = engine.verdict_matrix(data, trees, as_of, ents)
        verdicts = (
            verdict_ent[[row_of[int(e)] for e in table["enterprise_id"]]]
            if len(table["enterprise_id"])
            else np.zeros((0, len(items)), np.int8)
        )
    else:
        verdicts = np.zeros((len(table["need_id"]), len(items)), dtype=np.int8)
    needs = _needs_arrays(table, points)
    prods = _products_arrays(items)
    ranked = engine.rank(needs, prods, verdicts, r.match)
    step("写入 writing", 3, 4)
    run = repo.latest_run(session, scope) if need_ids is not None else None
    if run is None:
        # a re-match of single needs with no covering run starts the county's run
        region = (
            county_of(scope.region_path)
            if need_ids is not None and scope.region_path != "/"
            else scope.region_code
        )
        run = repo.add(
            session,
            FinanceMatchRun(
                region_code=region,
                as_of=as_of,
                needs=len(needs.need_id),
                products=len(items),
                pairs=len(ranked.need),
                weights=r.as_dict(),
                points_run_id=None,
                actor=actor.username,
            ),
        )
    else:
        repo.delete_matches(session, run.id, needs.need_id.tolist())
    parts = engine.parts_json(ranked.parts, ranked.points_missing)
    repo.insert_matches(
        session,
        run.id,
        {
            "need_id": needs.need_id[ranked.need],
            "product_id": prods.product_id[ranked.product],
            "bank_id": prods.bank_id[ranked.product],
            "rank": ranked.rank,
            "score": ranked.score,
            "verdict": ranked.verdict,
            "parts": parts,
        },
    )
    _store_lines(session, table, lines)
    if need_ids is None:
        audit.record(
            session,
            actor,
            "finance.match",
            "finance_match_run",
            run.id,
            after={
                "needs": run.needs,
                "products": run.products,
                "pairs": run.pairs,
                "as_of": as_of,
            },
            region_code=scope.region_code,
        )
    step("完成 done", 4, 4)
    return MatchSummary(run.id, len(needs.need_id), len(items), len(ranked.need), as_of)


def _credit_lines(data: Any, lp: Any, as_of: date) -> dict[int, tuple[Decimal | None, str | None]]:
    """积分贷: the suggested line (万元) of the built-in ``points_loan`` policy's estimate,
    None where the policy does not find the enterprise eligible (or points are missing)."""
    return engine.credit_lines(data, lp, as_of)


def _store_lines(
    session: Any, table: dict[str, np.ndarray], lines: dict[int, tuple[Decimal | None, str | None]]
) -> None:
    """One UPDATE per distinct (line, tier) — a handful — instead of one per need."""
    groups: dict[tuple[Decimal | None, str | None], list[int]] = defaultdict(list)
    for need_id, eid in zip(
        table["need_id"].tolist(), table["enterprise_id"].tolist(), strict=True
    ):
        groups[lines.get(eid, (None, None))].append(need_id)
    repo.set_credit_lines(session, groups)


def credit_line_for(
    session: Any, actor: Actor, enterprise_id: int, uscc: str
) -> tuple[Decimal | None, str | None, str, list[str | tuple[str, str]]]:
    """The enterprise's own 积分贷 line now (for its page): (line, tier, verdict, and without
    a line what stands in the way: the unmet conditions' gap sentences, then the missing
    inputs named in the user's terms)."""
    lp = get_policy("points_loan")
    as_of = today()
    data = policy_inputs(
        session, actor, input_years(as_of), enterprise_ids=[enterprise_id], codes=input_codes([lp])
    )
    if not len(data):
        return None, None, "insufficient_data", []
    lines = engine.credit_lines(data, lp, as_of)
    line, tier = lines.get(enterprise_id, (None, None))
    verdict = engine.credit_verdicts(data, lp, as_of).get(enterprise_id, "insufficient_data")
    if line is not None:
        return line, tier, verdict, []
    sentences, missing = engine.credit_gaps(data, lp, as_of, uscc)
    return line, tier, verdict, [*sentences, *(("missing", describe_missing(a))
                                               for a in missing)]


# --------------------------------------------------------------------------- reasons
def reason(parts: dict[str, Any], verdict: str, locale: str = "zh") -> str:
    """Why a product ranks where it does, from the stored parts of its score."""
    return engine.reason_text(parts, verdict, locale)


def _match_outs(
    session: Any, run: FinanceMatchRun | None, need_ids: list[int], locale: str
) -> dict[int, list[MatchOut]]:
    out: dict[int, list[MatchOut]] = defaultdict(list)
    if run is None:
        return out
    for m, p, b in repo.matches_for_needs(session, run.id, need_ids):
        out[m.need_id].append(
            MatchOut(
                rank=m.rank,
                product_id=p.id,
                product=p.name,
                bank_id=b.id,
                bank=b.name,
                kind=p.kind,
                score=round(m.score, 4),
                verdict=m.verdict,
                parts={k: float(v) for k, v in m.parts.items() if k != "points_missing"},
                reason=reason(m.parts, m.verdict, locale),
            )
        )
    return out


def need_out(need: FinanceNeed, month: int, matches: list[MatchOut], editable: bool) -> NeedOut:
    return NeedOut(
        id=need.id,
        month=month,
        amount_wan=need.amount_wan,
        term_months=need.term_months,
        purpose=need.purpose,
        collateral=list(need.collateral or []),
        patents_offered=need.patents_offered,
        urgency=need.urgency,
        status=need.status,
        editable=editable,
        credit_line_wan=need.credit_line_wan,
        points_tier=need.points_tier,
        matches=matches,
    )


def need_matches(session: Any, actor: Actor, need_id: int, locale: str = "zh") -> NeedOut:
    """A need with its ranked products (the bureau in scope, or the enterprise itself)."""
    need = repo.visible_need(session, actor, need_id)
    if need is None:
        raise NotFound("需求不存在", "need not found")
    month = repo.get(session, FinanceMonth, need.month_id)
    run = repo.latest_run(session, actor)
    outs = _match_outs(session, run, [need.id], locale)
    return need_out(
        need,
        month.month,
        outs.get(need.id, []),
        _is_editable(month, today()) and need.status == "open",
    )


# --------------------------------------------------------------------------- enterprise
def enterprise_home(session: Any, actor: Actor, locale: str = "zh") -> dict[str, Any]:
    eid = _enterprise_id(actor)
    ent = repo.visible_enterprise(session, actor, eid)
    if ent is None:
        raise NotFound("企业不存在", "enterprise not found")
    month = current_month(session, ent)
    needs = repo.needs_of(session, eid)
    months = {m.id: m for m in (repo.get(session, FinanceMonth, n.month_id) for n in needs)}
    run = repo.latest_run(session, actor)
    outs = _match_outs(session, run, [n.id for n in needs], locale)
    on = today()
    need_views = [
        need_out(
            n,
            months[n.month_id].month,
            outs.get(n.id, []),
            _is_editable(months[n.month_id], on) and n.status == "open",
        )
        for n in needs
    ]
    current = next((n for n in need_views if month and n.month == month.month), None)
    line, tier, verdict, gaps = credit_line_for(session, actor, eid, ent.uscc)
    now = utcnow()
    consents = [
        {"consent": c, "bank": b, "active": c.revoked_at is None and _aware(c.expires_at) > now}
        for c, b in repo.consents_of(session, eid)
    ]
    matched_banks = {m.bank_id for n in need_views for m in n.matches}
    r = rules(on)
    return {
        "enterprise": ent,
        "month": month,
        "current": current,
        "needs": need_views,
        "credit_line": line,
        "points_tier": tier,
        "credit_verdict": verdict,
        "credit_gaps": gaps,
        "consents": consents,
        "banks": repo.banks_on_path(session, repo.region_path(session, ent.region_code) or "/"),
        "matched_banks": matched_banks,
        "access": repo.access_of(session, eid),
        "reminders": repo.reminders_for(session, eid),
        "consent_default_days": r.consent_default_days,
        "consent_max_days": r.consent_max_days,
    }


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=utcnow().tzinfo)


def do_consent(session: Any, actor: Actor, data: ConsentIn) -> FinanceConsent:
    """The enterprise lets one bank see its identity and data for ``days`` (default and
    maximum from the rules); a second consent to the same bank replaces the first."""
    eid = _enterprise_id(actor)
    r = rules()
    days = data.days or r.consent_default_days
    if days > r.consent_max_days:
        raise InvalidInput(
            f"授权期限不能超过 {r.consent_max_days} 天",
            f"consent may last at most {r.consent_max_days} days",
            field="days",
        )
    bank = repo.bank(session, data.bank_id)
    if bank is None:
        raise NotFound("银行不存在", "bank not found", field="bank_id")
    now = utcnow()
    existing = repo.active_consent(session, eid, bank.id, now)
    if existing is not None:
        existing.revoked_at = now
    c = repo.add(
        session,
        FinanceConsent(
            enterprise_id=eid,
            bank_id=bank.id,
            granted_at=now,
            expires_at=now + timedelta(days=days),
            granted_by=actor.user_id,
        ),
    )
    audit.record(
        session,
        actor,
        "finance.consent",
        "finance_consent",
        c.id,
        after={"bank": bank.name, "bank_id": bank.id, "days": days, "expires_at": c.expires_at},
    )
    return c


def do_revoke(session: Any, actor: Actor, consent_id: int) -> FinanceConsent:
    """Revoke at once: the bank's next request no longer sees the enterprise."""
    eid = _enterprise_id(actor)
    c = repo.get(session, FinanceConsent, consent_id)
    if c is None or c.enterprise_id != eid:
        raise NotFound("授权不存在", "consent not found")
    if c.revoked_at is None:
        c.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            "finance.consent_revoke",
            "finance_consent",
            c.id,
            after={"bank_id": c.bank_id},
        )
    return c


# --------------------------------------------------------------------------- bank
def _ref(bank_id: int, need_id: int) -> str:
    """A pseudonym of a need for one bank (not comparable across banks)."""
    salt = get_settings().secret_key
    digest = hashlib.sha256(f"{salt}:{bank_id}:{need_id}".encode()).hexdigest()
    return "N-" + digest[:8].upper()


def _log_views(session: Any, actor: Actor, bank_id: int, views: list[tuple[int, str, str]]) -> None:
    """One access row per enterprise view (shown to the enterprise) and an audit row."""
    if not views:
        return
    now = utcnow()
    repo.add_access(
        session,
        [
            {
                "enterprise_id": e,
                "bank_id": bank_id,
                "user_id": actor.user_id,
                "actor": actor.username,
                "what": what,
                "ref": ref,
                "at": now,
            }
            for e, what, ref in views
        ],
    )
    for e, what, ref in views:
        audit.record(
            session,
            actor,
            "finance.bank_view",
            "enterprise",
            e,
            after={"bank_id": bank_id, "what": what, "ref": ref},
        )


def bank_matches(session: Any, actor: Actor) -> BankMatchesOut:
    """The needs the bank's products fit: consenting enterprises by name (each view logged),
    the others anonymised — and listed only when there are at least ``min_count`` of them
    (fewer could identify someone: then neither rows nor count are shown)."""
    bank_id = _bank_id(actor)
    bank = repo.bank(session, bank_id)
    r = rules()
    run = repo.latest_run(session, actor)
    rows = repo.bank_matches(session, run.id, bank_id, utcnow()) if run else []
    named = repo.enterprises_by_id(
        session, {x["enterprise_id"] for x in rows if x["enterprise_id"] is not None}
    )
    consented: list[BankNeedRow] = []
    anonymous: list[BankNeedRow] = []
    for x in rows:
        e = named.get(x["enterprise_id"]) if x["enterprise_id"] is not None else None
        row = BankNeedRow(
            ref=_ref(bank_id, x["need_id"]),
            need_id=x["need_id"] if e else None,
            enterprise=e.name if e else None,
            uscc=e.uscc if e else None,
            purpose=x["purpose"] if e else None,
            month=x["month"],
            amount_wan=x["amount_wan"],
            term_months=x["term_months"],
            collateral=list(x["collateral"] or []),
            urgency=x["urgency"],
            product_id=x["product_id"],
            rank=x["rank"],
            score=round(float(x["score"]), 4),
            verdict=x["verdict"],
        )
        (consented if e else anonymous).append(row)
    distinct_anon = len({a.ref for a in anonymous})
    shown = engine.shown_count(distinct_anon, r.min_count)
    if shown is None:
        anonymous = []
    _log_views(
        session, actor, bank_id, [(named_id, "match_list", "") for named_id in sorted(named)]
    )
    return BankMatchesOut(
        bank=bank.name if bank else "",
        consented=consented,
        anonymous=anonymous,
        anonymous_count=shown,
        min_count=r.min_count,
    )


def bank_need(session: Any, actor: Actor, need_id: int) -> BankNeedOut:
    """One need of a consenting enterprise (404 otherwise — the same answer as a need that
    does not exist, so a bank cannot probe who has needs)."""
    bank_id = _bank_id(actor)
    now = utcnow()
    need = repo.consented_need(session, need_id, bank_id, now)
    if need is None:
        raise NotFound("需求不存在或企业未向本行授权", "need not found or not shared with you")
    consent = repo.active_consent(session, need.enterprise_id, bank_id, now)
    assert consent is not None  # consented_need found it active within this transaction
    ent = repo.enterprises_by_id(session, [need.enterprise_id])[need.enterprise_id]
    month = repo.get(session, FinanceMonth, need.month_id)
    run = repo.latest_run(session, actor)
    best = [
        m
        for m, _p, _b in (repo.matches_for_needs(session, run.id, [need.id]) if run else [])
        if m.bank_id == bank_id
    ]
    top = best[0] if best else None
    row = BankNeedRow(
        ref=_ref(bank_id, need.id),
        need_id=need.id,
        enterprise=ent.name,
        uscc=ent.uscc,
        purpose=need.purpose,
        month=month.month,
        amount_wan=need.amount_wan,
        term_months=need.term_months,
        collateral=list(need.collateral or []),
        urgency=need.urgency,
        product_id=top.product_id if top else 0,
        rank=top.rank if top else 0,
        score=round(top.score, 4) if top else 0.0,
        verdict=top.verdict if top else "",
    )
    _log_views(session, actor, bank_id, [(ent.id, "need", f"need:{need.id}")])
    return BankNeedOut(
        need=row,
        credit_line_wan=need.credit_line_wan,
        points_tier=need.points_tier,
        consent_expires_at=consent.expires_at,
    )


def bank_home(session: Any, actor: Actor) -> dict[str, Any]:
    bank_id = _bank_id(actor)
    matches = bank_matches(session, actor)
    products = repo.products(session, Actor.public(), bank_id=bank_id)
    return {
        "bank": repo.bank(session, bank_id),
        "products": products,
        "matches": matches,
        "product_names": {p.id: p.name for p in products},
    }


def bank_export(session: Any, actor: Actor) -> bytes:
    """XLSX of the matched needs of consenting enterprises only (each export logged)."""
    bank_id = _bank_id(actor)
    m = bank_matches(session, actor)
    _log_views(session, actor, bank_id, [])
    rows = [
        (
            x.enterprise,
            x.uscc,
            x.month,
            x.purpose,
            x.amount_wan,
            x.term_months,
            "、".join(x.collateral),
            x.urgency,
            x.product_id,
            x.rank,
            x.score,
        )
        for x in m.consented
    ]
    return write_xlsx(
        [
            (
                "授权企业需求",
                [
                    "企业",
                    "统一社会信用代码",
                    "月份",
                    "用途",
                    "金额（万元）",
                    "期限（月）",
                    "抵质押",
                    "紧急程度",
                    "产品",
                    "排名",
                    "匹配度",
                ],
                rows,
            )
        ]
    )


# --------------------------------------------------------------------------- bureau
def overview(session: Any, actor: Actor) -> dict[str, Any]:
    _bureau(actor)
    months = repo.months(session, actor)
    counts = repo.month_counts(session, [m.id for m in months])
    run = repo.latest_run(session, actor)
    pending = repo.products(session, actor, statuses=["pending"])
    banks = repo.banks_by_id(session, {p.bank_id for p in pending})
    return {
        "months": months,
        "month_counts": counts,
        "run": run,
        "need_counts": repo.need_status_counts(session, actor),
        "pending": [product_out(p, banks.get(p.bank_id)) for p in pending],
        "products": product_list(session, actor),
    }


def quarter_months(quarter: int) -> tuple[int, int]:
    year, q = divmod(quarter, 10)
    if not 1 <= q <= 4:
        raise InvalidInput(
            "季度应为 YYYYQ，如 20241", "quarter is YYYYQ, e.g. 20241", field="quarter"
        )
    return year * 100 + 3 * q - 2, year * 100 + 3 * q


@dataclass
class QuarterRow:
    need: FinanceNeed
    enterprise: Enterprise
    matches: list[MatchOut]
    outcome: FinanceOutcome | None
    month: int = 0


@dataclass
class Quarter:
    quarter: int
    rows: list[QuarterRow] = field(default_factory=list)
    consultations: list[FinanceConsultation] = field(default_factory=list)


def quarter_view(session: Any, actor: Actor, quarter: int, locale: str = "zh") -> Quarter:
    """The quarter's needs that were not met in their month (open, or decided at a
    consultation of this quarter) with their matched products and banks and outcomes."""
    _bureau(actor)
    first, last = quarter_months(quarter)
    pairs = repo.needs_in_quarter(session, actor, first, last, statuses=["open", "met", "declined"])
    ids = [n.id for n, _ in pairs]
    run = repo.latest_run(session, actor)
    outs = _match_outs(session, run, ids, locale)
    outcomes = repo.outcomes_for(session, ids)
    month_of = {m.id: m.month for m in repo.months(session, actor, limit=600)}
    rows = [
        QuarterRow(n, e, outs.get(n.id, []), outcomes.get(n.id), month_of.get(n.month_id, 0))
        for n, e in pairs
    ]
    cons = [c for c in repo.consultations(session, actor) if c.quarter == quarter]
    return Quarter(quarter, rows, cons)


def quarter_xlsx(session: Any, actor: Actor, quarter: int) -> bytes:
    q = quarter_view(session, actor, quarter)
    audit.record(
        session,
        actor,
        "finance.export_quarter",
        "finance_quarter",
        quarter,
        after={"rows": len(q.rows)},
    )
    needs = []
    for r in q.rows:
        o = r.outcome
        needs.append(
            (
                r.enterprise.name,
                r.enterprise.uscc,
                r.month,
                r.need.purpose,
                r.need.amount_wan,
                r.need.term_months,
                "、".join(r.need.collateral or []),
                "；".join(f"{m.rank}. {m.bank}·{m.product}（{m.score:.2f}）" for m in r.matches),
                o.result if o else "",
                o.amount_wan if o and o.amount_wan else None,
                o.rate_pct if o and o.rate_pct else None,
                o.decided_on.isoformat() if o else "",
                o.reason if o else "",
            )
        )
    meetings = [
        (
            c.held_on.isoformat(),
            c.title,
            c.venue,
            "、".join(c.participants or []),
            len(c.enterprise_ids or []),
            len(c.bank_ids or []),
            c.notes,
        )
        for c in q.consultations
    ]
    return write_xlsx(
        [
            (
                "需求与对接结果",
                [
                    "企业",
                    "统一社会信用代码",
                    "月份",
                    "用途",
                    "金额（万元）",
                    "期限（月）",
                    "抵质押",
                    "匹配产品",
                    "结果",
                    "放款金额（万元）",
                    "利率（%）",
                    "日期",
                    "原因",
                ],
                needs,
            ),
            (
                "会商记录",
                ["日期", "主题", "地点", "参会人员", "企业数", "金融机构数", "纪要"],
                meetings,
            ),
        ]
    )


def do_record_consultation(session: Any, actor: Actor, data: ConsultationIn) -> FinanceConsultation:
    _bureau(actor)
    code = actor.region_code
    if code is None:
        raise InvalidInput("命令行请指定地区", "region is required")
    quarter_months(data.quarter)
    ents = repo.enterprises_by_id(session, data.enterprise_ids)
    visible = [
        e
        for e in data.enterprise_ids
        if e in ents and repo.visible_enterprise(session, actor, e) is not None
    ]
    if len(visible) != len(set(data.enterprise_ids)):
        raise InvalidInput(
            "参会企业中有不在辖区内或不存在的企业",
            "unknown enterprise in the list",
            field="enterprise_ids",
        )
    c = repo.add(
        session,
        FinanceConsultation(
            region_code=code,
            quarter=data.quarter,
            held_on=data.held_on,
            title=data.title,
            venue=data.venue,
            participants=data.participants,
            enterprise_ids=visible,
            bank_ids=data.bank_ids,
            notes=data.notes,
            created_by=actor.user_id,
        ),
    )
    audit.record(
        session,
        actor,
        "finance.consultation",
        "finance_consultation",
        c.id,
        after=data.model_dump(mode="json"),
        region_code=code,
    )
    return c


def consultation(session: Any, actor: Actor, cid: int) -> FinanceConsultation:
    _bureau(actor)
    c = repo.consultation(session, actor, cid)
    if c is None:
        raise NotFound("会商记录不存在", "consultation not found")
    return c


def do_record_outcome(session: Any, actor: Actor, need_id: int, data: OutcomeIn) -> FinanceOutcome:
    """The outcome of a need: granted (a loan record is created) or declined with the
    reason; the need is then met or declined."""
    _bureau(actor)
    need = repo.visible_need(session, actor, need_id)
    if need is None:
        raise NotFound("需求不存在", "need not found")
    if repo.outcome_of(session, need.id) is not None:
        raise Conflict("该需求已登记对接结果", "the need already has an outcome")
    product = repo.get(session, FinanceProduct, data.product_id) if data.product_id else None
    if data.product_id and product is None:
        raise InvalidInput("产品不存在", "unknown product", field="product_id")
    if data.bank_id and repo.bank(session, data.bank_id) is None:
        raise InvalidInput("银行不存在", "unknown bank", field="bank_id")
    o = repo.add(
        session,
        FinanceOutcome(
            need_id=need.id,
            consultation_id=data.consultation_id,
            bank_id=data.bank_id,
            product_id=data.product_id,
            result=data.result,
            amount_wan=data.amount_wan,
            rate_pct=data.rate_pct,
            decided_on=data.decided_on,
            reason=data.reason,
            created_by=actor.user_id,
        ),
    )
    need.status = "met" if data.result == "granted" else "declined"
    loan = None
    if data.result == "granted":
        assert data.bank_id and data.amount_wan is not None and data.rate_pct is not None
        loan = repo.add(
            session,
            FinanceLoan(
                enterprise_id=need.enterprise_id,
                bank_id=data.bank_id,
                product_id=data.product_id,
                outcome_id=o.id,
                region_code=need.region_code,
                kind=product.kind if product else "credit",
                amount_wan=data.amount_wan,
                rate_pct=data.rate_pct,
                term_months=data.term_months or need.term_months,
                granted_on=data.decided_on,
                first_time=data.first_time,
                pool_eligible=data.pool_eligible,
            ),
        )
    audit.record(
        session,
        actor,
        "finance.outcome",
        "finance_need",
        need.id,
        after={**data.model_dump(mode="json"), "loan_id": loan.id if loan else None},
        region_code=need.region_code,
    )
    return o


# --------------------------------------------------------------------------- assessment
def assessment(session: Any, actor: Actor, year: int) -> dict[str, Any]:
    _bureau(actor)
    rows = [
        engine.LoanRow(
            bank=r[0],
            product=r[1],
            kind=r[2],
            amount_wan=r[3],
            rate_pct=r[4],
            first_time=bool(r[5]),
            year=r[6].year,
        )
        for r in repo.loan_rows(session, actor, [year - 1, year])
    ]
    r = rules(date(year, 12, 31))
    banks = engine.rank_banks(engine.figures(rows, year, "bank"), r.assessment_weights)
    products = sorted(
        engine.figures([x for x in rows if x.product], year, "product").values(),
        key=lambda f: (-f.amount_wan, f.key),
    )

    def out(f: engine.Figures) -> BankFiguresOut:
        return BankFiguresOut(
            key=f.key,
            loans=f.loans,
            amount_wan=f.amount_wan,
            previous_wan=f.previous_wan,
            growth=f.growth,
            credit_share=f.credit_share,
            first_time_share=f.first_time_share,
            avg_rate_pct=f.avg_rate_pct,
            score=f.score,
            rank=f.rank,
        )

    total = sum((f.amount_wan for f in banks), Decimal(0))
    credit = sum(((f.credit_share or 0) * f.amount_wan for f in banks), Decimal(0))
    return {
        "year": year,
        "banks": [out(f) for f in banks],
        "products": [out(f) for f in products],
        "weights": r.assessment_weights,
        "total_wan": total,
        "credit_share": (credit / total).quantize(Decimal("0.0001")) if total else None,
    }


# --------------------------------------------------------------------------- risk pool
def pool_key(region_code: str, year: int) -> str:
    return f"{POOL_PREFIX}:{region_code}:{year}"


def do_open_pool(
    session: Any,
    actor: Actor,
    *,
    year: int,
    amount_yuan: Decimal,
    region_code: str | None = None,
    source: str = "科技信贷风险补偿资金",
) -> Any:
    _bureau(actor)
    code, _ = _region_for(session, actor, region_code)
    return ledger.do_open_budget(
        session,
        actor,
        key=pool_key(code, year),
        title=f"科技信贷风险补偿资金池 {year}",
        region_code=code,
        year=year,
        amount=amount_yuan,
        source=source,
    )


def pool_remaining(session: Any, region_code: str, year: int) -> Decimal | None:
    try:
        return ledger.remaining(session, pool_key(region_code, year))
    except NotFound:
        return None


def do_record_default(
    session: Any, actor: Actor, loan_id: int, data: DefaultIn
) -> FinanceCompensation | None:
    """A loan defaults: the pool compensates the bank (share × principal lost, capped per
    loan and per year; dated rules) through the ledger (``risk_compensation``)."""
    _bureau(actor)
    loan = repo.visible_loan(session, actor, loan_id)
    if loan is None:
        raise NotFound("贷款不存在", "loan not found")
    if loan.status == "defaulted":
        raise Conflict("该笔贷款已登记违约", "the loan is already in default")
    if data.default_wan > loan.amount_wan:
        raise InvalidInput(
            "违约本金不能超过贷款金额", "default exceeds the loan", field="default_wan"
        )
    loan.status, loan.defaulted_on, loan.default_wan = (
        "defaulted",
        data.defaulted_on,
        data.default_wan,
    )
    path = repo.region_path(session, loan.region_code) or "/"
    county = county_of(path)
    year = data.defaulted_on.year
    r = rules(data.defaulted_on)
    amount = engine.compensation(
        kind=loan.kind,
        pool_eligible=loan.pool_eligible,
        default_yuan=data.default_wan * 10000,
        paid_this_year_yuan=repo.paid_in_year(session, county, year),
        pool=r.pool,
    )
    audit.record(
        session,
        actor,
        "finance.loan_default",
        "finance_loan",
        loan.id,
        after={
            "default_wan": data.default_wan,
            "on": data.defaulted_on,
            "compensation_yuan": amount,
        },
        region_code=loan.region_code,
    )
    if amount <= 0:
        return None
    bank = repo.bank(session, loan.bank_id)
    key = pool_key(county, year)
    idem = f"finance:compensation:{loan.id}"
    entry = ledger.do_pay(
        session,
        actor,
        budget_key=key,
        kind="risk_compensation",
        payee_type="bank",
        payee_id=loan.bank_id,
        payee_name=bank.name if bank else "",
        amount=amount,
        decision_ref=f"finance:loan:{loan.id}",
        idempotency_key=idem,
        memo=f"贷款 #{loan.id} 违约本金 {data.default_wan} 万元",
    )
    return repo.add(
        session,
        FinanceCompensation(
            loan_id=loan.id,
            kind="compensation",
            amount_yuan=amount,
            year=year,
            region_code=county,
            budget_key=key,
            ledger_entry_id=entry.id,
            idempotency_key=idem,
            memo="",
            created_by=actor.user_id,
        ),
    )


def do_record_recovery(
    session: Any, actor: Actor, loan_id: int, data: RecoveryIn
) -> FinanceCompensation:
    """Money recovered on a compensated loan flows back into the pool it was paid from."""
    _bureau(actor)
    loan = repo.visible_loan(session, actor, loan_id)
    if loan is None:
        raise NotFound("贷款不存在", "loan not found")
    paid = [
        c
        for c in repo.compensations(session, Actor.command_line(), limit=10_000)
        if c.loan_id == loan.id
    ]
    comp = next((c for c in paid if c.kind == "compensation"), None)
    if comp is None:
        raise Conflict("该笔贷款没有获得补偿，无需回收", "the loan was not compensated")
    back = sum((c.amount_yuan for c in paid if c.kind == "recovery"), Decimal(0))
    if back + data.amount_yuan > comp.amount_yuan:
        raise InvalidInput(
            f"回收金额超过补偿金额（已补偿 {comp.amount_yuan} 元，已回收 {back} 元）",
            "recoveries exceed the compensation",
            field="amount_yuan",
        )
    idem = f"finance:recovery:{loan.id}:{len(paid)}"
    entry = ledger.do_receive(
        session,
        actor,
        budget_key=comp.budget_key,
        kind="recovery",
        amount=data.amount_yuan,
        decision_ref=f"finance:loan:{loan.id}",
        idempotency_key=idem,
        memo=data.memo,
    )
    rec = repo.add(
        session,
        FinanceCompensation(
            loan_id=loan.id,
            kind="recovery",
            amount_yuan=data.amount_yuan,
            year=comp.year,
            region_code=comp.region_code,
            budget_key=comp.budget_key,
            ledger_entry_id=entry.id,
            idempotency_key=idem,
            memo=data.memo,
            created_by=actor.user_id,
        ),
    )
    audit.record(
        session,
        actor,
        "finance.recovery",
        "finance_loan",
        loan.id,
        after={"amount_yuan": data.amount_yuan},
        region_code=loan.region_code,
    )
    return rec


def loans_page(session: Any, actor: Actor, year: int | None = None) -> dict[str, Any]:
    _bureau(actor)
    items = repo.loans(session, actor, year=year, limit=300)
    comps = repo.compensations(session, actor)
    code = actor.region_code
    on = today()
    totals = {
        "compensation": Decimal(0),
        "recovery": Decimal(0),
        **repo.pool_totals(session, actor),
    }
    return {
        "loans": items,
        "compensations": comps,
        "totals": totals,
        "pool_key": pool_key(code, on.year) if code else None,
        "pool_remaining": pool_remaining(session, code, on.year) if code else None,
        "year": year,
        "rules": rules(on),
    }


def run_out(s: MatchSummary) -> MatchRunOut:
    return MatchRunOut(
        run_id=s.run_id, needs=s.needs, products=s.products, pairs=s.pairs, as_of=s.as_of
    )


def region_path(session: Any, code: str) -> str | None:
    return repo.region_path(session, code)


def run_cases(path: Any) -> tuple[list[str], int]:
    """Run the rule cases (match ranks, pool compensation, suppression, assessment);
    returns the names of failing cases and the number of cases."""
    cases = load_cases(path)
    failures: list[str] = []
    total = 0
    for c in cases.get("risk", []):
        total += 1
        got = engine.compensation(
            kind=c["kind"],
            pool_eligible=c["pool_eligible"],
            default_yuan=Decimal(c["default_yuan"]),
            paid_this_year_yuan=Decimal(c["paid_this_year_yuan"]),
            pool=rules_at(c["date"]).pool,
        )
        if got != Decimal(c["expected_yuan"]):
            failures.append(f"{c['name']}：得到 {got}，应为 {c['expected_yuan']}")
    for c in cases.get("disclosure", []):
        total += 1
        if engine.shown_count(c["count"], rules_at(c["date"]).min_count) != c["shown"]:
            failures.append(c["name"])
    for c in cases.get("match", []):
        total += 1
        n, ps = c["need"], c["products"]
        needs = engine.Needs(
            np.array([1]),
            np.array([float(n["amount_wan"])]),
            np.array([n["term_months"]]),
            np.array(["patent" in n["collateral"] and n["patents_offered"] > 0]),
            np.array(["guarantee" in n["collateral"]]),
            np.array([np.nan if n["points_percentile"] is None else float(n["points_percentile"])]),
        )
        prods = engine.Products(
            np.arange(1, len(ps) + 1),
            np.ones(len(ps), dtype=np.int64),
            np.array([p["kind"] for p in ps], dtype=object),
            np.array([float(p["amount_min_wan"]) for p in ps]),
            np.array([float(p["amount_max_wan"]) for p in ps]),
            np.array([float(p["term_min_months"]) for p in ps]),
            np.array([float(p["term_max_months"]) for p in ps]),
            np.full(len(ps), 3.5),
        )
        verdicts = np.array([[engine.VERDICT_CODE[p["verdict"]] for p in ps]], dtype=np.int8)
        ranked = engine.rank(needs, prods, verdicts, rules_at(c["as_of"]).match)
        order = [ps[int(j)]["code"] for j in ranked.product[np.argsort(ranked.rank)]]
        if order != c["ranked"]:
            failures.append(f"{c['name']}：得到 {order}，应为 {c['ranked']}")
    for c in cases.get("assessment", []):
        total += 1
        rows = [
            engine.LoanRow(
                bank=x["bank"],
                product=None,
                kind=x["kind"],
                amount_wan=Decimal(str(x["amount_wan"])),
                rate_pct=Decimal(str(x["rate_pct"])),
                first_time=x["first_time"],
                year=x["year"],
            )
            for x in c["loans"]
        ]
        ranked_banks = engine.rank_banks(
            engine.figures(rows, c["year"]), rules_at(date(c["year"], 12, 31)).assessment_weights
        )
        by = {f.key: f for f in ranked_banks}
        if any(by[b].rank != e["rank"] for b, e in c["expected"].items()):
            failures.append(c["name"])
    return failures, total
