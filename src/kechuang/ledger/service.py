"""The ledger's actions and reads. Other capabilities (programs, vouchers, finance, lists'
dividends) pay through these functions; their names and signatures are a published seam
(docs/ledger.md) and stay stable.

- :func:`do_open_budget` opens a budget under a key (``program:<code>:<year>``,
  ``vouchers:<region>:<year>``, ``dividends:<region>:<year>``,
  ``finance:risk_pool:<region>:<year>``); opening the same key again with the same
  numbers returns it, with different numbers is refused.
- :func:`do_pay` / :func:`do_receive` / :func:`do_reverse` append one entry each, under the
  budget's lock (:func:`kechuang.ledger.repository.lock_budget`), refusing overspending;
  a repeated idempotency key returns the entry already posted (``replayed=True``).
- :func:`remaining`, :func:`entries_for`, :func:`budgets`, :func:`reconcile`.

Services never commit: the caller's unit of work commits the entry with its audit row, so
a process killed mid-way leaves the whole entry or nothing.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_in_scope
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.xlsx import write_xlsx
from kechuang.ledger import engine
from kechuang.ledger import repository as repo
from kechuang.ledger.schemas import (
    BatchOut,
    BudgetOut,
    BudgetRow,
    EntryOut,
    EntryPage,
    PaymentItem,
    Reconciliation,
    ReconRow,
    rules,
)
from kechuang.lists import service as lists_service
from kechuang.lists.schemes import load_scheme_file, shipped_scheme
from kechuang.models.base import utcnow
from kechuang.models.ledger import LedgerBudget, LedgerEntry

PAYEE_TYPES = ("enterprise", "institute", "provider", "bank", "person", "other")
_ZERO = Decimal(0)


# --------------------------------------------------------------------------- helpers
def _entry_out(entry: LedgerEntry, budget_key: str, *, replayed: bool = False) -> EntryOut:
    return EntryOut(
        id=entry.id, budget_id=entry.budget_id, budget_key=budget_key,
        entry_type=entry.entry_type,
        kind=entry.kind, payee_type=entry.payee_type, payee_id=entry.payee_id,
        payee_name=entry.payee_name, amount=entry.amount, delta=entry.delta,
        balance_after=entry.balance_after, decision_ref=entry.decision_ref,
        idempotency_key=entry.idempotency_key, reverses_id=entry.reverses_id,
        memo=entry.memo or "", actor=entry.actor, created_at=entry.created_at,
        replayed=replayed)


def _text(value: str | None, field: str, zh: str, max_len: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"“{zh}”不能为空", f"'{field}' is required", field=field)
    if len(text) > max_len:
        raise InvalidInput(f"“{zh}”过长（最多 {max_len} 字）",
                           f"'{field}' is longer than {max_len}", field=field)
    return text


def _check_scope(session: Session, actor: Actor, budget: Any) -> None:
    if actor.is_bureau:
        path = repo.region_path(session, budget.region_code) or ""
        if not region_in_scope(actor, path):
            raise Forbidden(f"预算“{budget.key}”不在您的辖区内",
                            f"Budget '{budget.key}' is outside your region")


def _locked_budget(session: Session, actor: Actor, key: str) -> Any:
    budget = repo.lock_budget(session, key)
    if budget is None:
        raise NotFound(f"“预算编号”不存在：{key}", f"budget '{key}' does not exist",
                       field="budget_key")
    _check_scope(session, actor, budget)
    return budget


def _remaining_locked(session: Session, budget: Any) -> Decimal:
    last = repo.last_balance(session, budget.id)
    return budget.amount if last is None else last


def _replay(session: Session, existing: LedgerEntry, wanted: dict[str, Any]) -> EntryOut:
    have = {k: getattr(existing, k) for k in wanted}
    engine.same_request(have, wanted)
    key = repo.budget_keys(session, [existing.budget_id])[existing.budget_id]
    return _entry_out(existing, key, replayed=True)


def _append(session: Session, actor: Actor, budget: Any, **fields: Any) -> EntryOut:
    values = {"payee_type": None, "payee_id": None, "payee_name": "", "reverses_id": None,
              "memo": "", **fields, "budget_id": budget.id, "created_by": actor.user_id,
              "actor": actor.username, "created_at": utcnow()}
    try:
        entry_id = repo.insert_entry(session, values)
    except IntegrityError:
        # the unique keys are the last line of defence behind the budget lock; the caller's
        # unit of work rolls back
        raise Conflict("该款项已由另一个并发请求记账，请刷新后查看",
                       "A concurrent request already posted this entry") from None
    return EntryOut(id=entry_id, budget_key=budget.key, replayed=False,
                    **{k: v for k, v in values.items() if k != "created_by"})


# --------------------------------------------------------------------------- budgets
def do_open_budget(session: Session, actor: Actor, *, key: str, title: str, region_code: str,
                   year: int, amount: Decimal, source: str) -> BudgetOut:
    """Open a budget. The same key with the same region, year and amount returns the existing
    budget (so callers may open idempotently); different numbers are refused — a budget is
    never changed, money is added with a ``top_up`` receipt."""
    r = rules()
    if actor.role not in r.open_budget_roles:
        raise Forbidden("只有科技局管理员可以设立预算", "Only a bureau administrator opens budgets")
    engine.check_key(key)
    title = _text(title, "title", "预算名称", 200)
    source = _text(source, "source", "资金来源", 400)
    value = engine.parse_amount(amount, "预算金额", r, allow_zero=True)
    if not isinstance(year, int) or not 1990 <= year <= 2100:
        raise InvalidInput(f"“年度”不合理：{year}", f"'year' out of range: {year}", field="year")
    path = repo.region_path(session, region_code)
    if path is None:
        raise InvalidInput(f"“地区代码”不存在：{region_code}", f"unknown region {region_code}",
                           field="region_code")
    if not region_in_scope(actor, path):
        raise Forbidden(f"地区 {region_code} 不在您的辖区内", "Region outside your scope")
    existing = repo.budget_by_key(session, key)
    if existing is not None:
        if (existing.region_code, existing.year, existing.amount) != (region_code, year, value):
            raise Conflict(
                f"预算“{key}”已存在（{existing.region_code}，{existing.year} 年，"
                f"{engine.fmt(existing.amount)} 元），不能以不同的数额重新设立；"
                "追加请用收款（top_up）",
                f"Budget '{key}' exists with other numbers; add money with a top_up receipt",
                field="key")
        return BudgetOut.model_validate(existing)
    budget = LedgerBudget(key=key, title=title, region_code=region_code, year=year,
                          amount=value, source=source, created_by=actor.user_id,
                          actor=actor.username)
    try:
        repo.add(session, budget)
    except IntegrityError:
        raise Conflict(f"预算“{key}”刚被另一请求设立", f"Budget '{key}' was just opened",
                       field="key") from None
    audit.record(session, actor, "ledger.open_budget", "ledger_budget", budget.id,
                 after={"key": key, "title": title, "year": year, "amount": value,
                        "source": source}, region_code=region_code)
    return BudgetOut.model_validate(budget)


def get_budget(session: Session, actor: Actor, key: str) -> BudgetOut:
    budget = repo.budget_by_key(session, key)
    if budget is None:
        raise NotFound(f"预算“{key}”不存在", f"budget '{key}' does not exist", field="budget_key")
    _check_scope(session, actor, budget)
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以查看预算", "Only the bureau sees budgets")
    return BudgetOut.model_validate(budget)


def remaining(session: Session, budget_key: str) -> Decimal:
    """What is left of a budget now (its opening amount when nothing was posted)."""
    budget = repo.budget_by_key(session, budget_key)
    if budget is None:
        raise NotFound(f"预算“{budget_key}”不存在", f"budget '{budget_key}' does not exist",
                       field="budget_key")
    last = repo.last_balance(session, budget.id)
    return budget.amount if last is None else last


def budgets(session: Session, actor: Actor, *, year: int | None = None,
            prefix: str | None = None) -> list[BudgetRow]:
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以查看预算", "Only the bureau sees budgets")
    out = []
    for row in repo.budget_rows(session, actor, year=year, prefix=prefix):
        b = row[0]
        out.append(BudgetRow(
            id=b.id, key=b.key, title=b.title, region_code=b.region_code, year=b.year,
            amount=b.amount, source=b.source, actor=b.actor, created_at=b.created_at,
            paid=row.paid, received=row.received, reversed=row.reversed,
            remaining=b.amount + row.delta, entries=row.n))
    return out


# --------------------------------------------------------------------------- entries
def do_pay(session: Session, actor: Actor, *, budget_key: str, kind: str, payee_type: str,
           payee_id: int | None, payee_name: str, amount: Decimal, decision_ref: str,
           idempotency_key: str, memo: str = "") -> EntryOut:
    """Pay ``amount`` out of the budget ``budget_key`` to a payee, following ``decision_ref``.

    Locks the budget row; refuses more than what is left (a Chinese error naming the
    amount, nothing written); a repeated ``idempotency_key`` returns the entry already
    posted (and is refused when it described a different payment)."""
    r = rules()
    engine.check_kind(kind, "payment", r)
    if not engine.may_post(kind, actor.role, r):
        raise Forbidden(f"您的角色不能登记“{engine.kind_label(kind, r)}”付款",
                        f"Your role may not post '{kind}' payments")
    value = engine.parse_amount(amount, "金额", r)
    if payee_type not in PAYEE_TYPES:
        raise InvalidInput(f"“收款方类型”未知：{payee_type}（可选：{'、'.join(PAYEE_TYPES)}）",
                           f"unknown payee type '{payee_type}'", field="payee_type")
    payee_name = _text(payee_name, "payee_name", "收款方名称", 200)
    decision_ref = _text(decision_ref, "decision_ref", "决定文号", 200)
    idempotency_key = _text(idempotency_key, "idempotency_key", "幂等键", 200)
    memo = (memo or "").strip()[:2000]
    session.flush()  # the caller's pending writes go before the lock, not under it
    budget = _locked_budget(session, actor, budget_key)
    values = {"kind": kind, "payee_type": payee_type, "payee_id": payee_id,
              "payee_name": payee_name, "decision_ref": decision_ref,
              "idempotency_key": idempotency_key, "reverses_id": None, "memo": memo,
              "created_by": actor.user_id, "actor": actor.username, "created_at": utcnow()}
    try:
        posted = repo.post_payment(session, budget, values, value)
    except IntegrityError:
        raise Conflict("该款项已由另一个并发请求记账，请刷新后查看",
                       "A concurrent request already posted this entry") from None
    if posted is None:  # a replay, or more than what is left: say which
        existing_id, last = repo.prior(session, budget.id, idempotency_key)
        if existing_id is not None:
            existing = repo.entry_by_id(session, existing_id)
            assert existing is not None
            return _replay(session, existing, {
                "budget_id": budget.id, "entry_type": "payment", "kind": kind,
                "payee_type": payee_type, "payee_id": payee_id, "amount": value,
                "decision_ref": decision_ref})
        engine.post(budget.amount if last is None else last, "payment", value,
                    budget_key=budget.key)
        raise AssertionError("a refused payment must be a replay or an overspend")
    entry_id, balance = posted
    audit.record(session, actor, "ledger.pay", "ledger_entry", entry_id,
                 after={"budget": budget.key, "kind": kind, "payee": payee_name,
                        "payee_type": payee_type, "payee_id": payee_id, "amount": value,
                        "decision_ref": decision_ref, "balance_after": balance},
                 region_code=budget.region_code)
    return EntryOut(id=entry_id, budget_id=budget.id, budget_key=budget.key,
                    entry_type="payment", amount=value, delta=-value, balance_after=balance,
                    **{k: v for k, v in values.items() if k != "created_by"})


def do_pay_batch(session: Session, actor: Actor, *, budget_key: str, kind: str,
                 decision_ref: str, payments: list[PaymentItem]) -> BatchOut:
    """Many payments of one decision from one budget, set-based: one lock, one read of the
    keys already posted, running balances computed in order, one bulk insert, one audit row.
    All or nothing: when the new payments together exceed what is left, none is posted.
    Payments whose idempotency key was posted before are skipped (and must match)."""
    r = rules()
    engine.check_kind(kind, "payment", r)
    if not engine.may_post(kind, actor.role, r):
        raise Forbidden(f"您的角色不能登记“{engine.kind_label(kind, r)}”付款",
                        f"Your role may not post '{kind}' payments")
    decision_ref = _text(decision_ref, "decision_ref", "决定文号", 200)
    items = []
    for i, p in enumerate(payments, start=1):
        if p.payee_type not in PAYEE_TYPES:
            raise InvalidInput(f"第 {i} 笔“收款方类型”未知：{p.payee_type}",
                               f"payment {i}: unknown payee type", field="payee_type")
        value = engine.parse_amount(p.amount, f"第 {i} 笔金额", r)
        items.append((p, value, _text(p.idempotency_key, "idempotency_key", "幂等键", 200)))
    if len({k for _, _, k in items}) != len(items):
        raise InvalidInput("同一批次中有重复的幂等键", "duplicate idempotency keys in the batch",
                           field="idempotency_key")
    budget = _locked_budget(session, actor, budget_key)
    done = repo.existing_keys(session, [k for _, _, k in items])
    balance = _remaining_locked(session, budget)
    rows: list[dict[str, Any]] = []
    total = _ZERO
    now = utcnow()
    for p, value, key in items:
        if key in done:
            old = done[key]
            engine.same_request(
                {"budget_id": old.budget_id, "payee_id": old.payee_id, "amount": old.amount},
                {"budget_id": budget.id, "payee_id": p.payee_id, "amount": value})
            continue
        posting = engine.post(balance, "payment", value, budget_key=budget.key)
        balance = posting.balance_after
        total += value
        rows.append({"budget_id": budget.id, "entry_type": "payment", "kind": kind,
                     "payee_type": p.payee_type, "payee_id": p.payee_id,
                     "payee_name": p.payee_name[:200], "amount": value,
                     "delta": posting.delta, "balance_after": posting.balance_after,
                     "decision_ref": decision_ref, "idempotency_key": key,
                     "reverses_id": None, "memo": p.memo[:2000], "created_by": actor.user_id,
                     "actor": actor.username, "created_at": now})
    if rows:
        repo.insert_entries(session, rows)
        audit.record(session, actor, "ledger.pay_batch", "ledger_budget", budget.id,
                     after={"budget": budget.key, "kind": kind, "decision_ref": decision_ref,
                            "payments": len(rows), "total": total, "balance_after": balance},
                     region_code=budget.region_code)
    return BatchOut(budget_key=budget.key, posted=len(rows), replayed=len(items) - len(rows),
                    total_posted=total, remaining=balance)


def do_receive(session: Session, actor: Actor, *, budget_key: str, kind: str = "recovery",
               amount: Decimal, decision_ref: str, idempotency_key: str, memo: str = "",
               payer_type: str | None = None, payer_id: int | None = None,
               payer_name: str = "") -> EntryOut:
    """Money back into a budget (a recovery, a refund, a top-up)."""
    r = rules()
    engine.check_kind(kind, "receipt", r)
    if not engine.may_post(kind, actor.role, r):
        raise Forbidden(f"您的角色不能登记“{engine.kind_label(kind, r)}”",
                        f"Your role may not post '{kind}'")
    value = engine.parse_amount(amount, "金额", r)
    if payer_type is not None and payer_type not in PAYEE_TYPES:
        raise InvalidInput(f"“付款方类型”未知：{payer_type}", f"unknown payer type '{payer_type}'",
                           field="payer_type")
    decision_ref = _text(decision_ref, "decision_ref", "决定文号", 200)
    idempotency_key = _text(idempotency_key, "idempotency_key", "幂等键", 200)
    budget = _locked_budget(session, actor, budget_key)
    existing = repo.entry_by_key(session, idempotency_key)
    if existing is not None:
        return _replay(session, existing, {
            "budget_id": budget.id, "entry_type": "receipt", "kind": kind, "amount": value,
            "decision_ref": decision_ref})
    posting = engine.post(_remaining_locked(session, budget), "receipt", value,
                          budget_key=budget.key)
    entry = _append(session, actor, budget, entry_type="receipt", kind=kind,
                    payee_type=payer_type, payee_id=payer_id,
                    payee_name=(payer_name or "").strip()[:200], amount=value,
                    delta=posting.delta, balance_after=posting.balance_after,
                    decision_ref=decision_ref, idempotency_key=idempotency_key,
                    memo=(memo or "").strip()[:2000])
    audit.record(session, actor, "ledger.receive", "ledger_entry", entry.id,
                 after={"budget": budget.key, "kind": kind, "amount": value,
                        "decision_ref": decision_ref, "balance_after": posting.balance_after},
                 region_code=budget.region_code)
    return entry


def do_reverse(session: Session, actor: Actor, *, entry_id: int, reason: str,
               idempotency_key: str) -> EntryOut:
    """A correction: a new entry that undoes ``entry_id`` (same amount, opposite effect,
    same decision reference). An entry is reversed at most once; a reversal is not
    reversed (post a new payment instead)."""
    r = rules()
    if actor.role not in r.reverse_roles:
        raise Forbidden("只有科技局管理员可以冲正", "Only a bureau administrator reverses entries")
    reason = _text(reason, "reason", "冲正原因", 2000)
    idempotency_key = _text(idempotency_key, "idempotency_key", "幂等键", 200)
    original = repo.entry_by_id(session, entry_id)
    if original is None:
        raise NotFound(f"“台账记录”不存在：{entry_id}", f"entry {entry_id} does not exist",
                       field="entry_id")
    keys = repo.budget_keys(session, [original.budget_id])
    budget = _locked_budget(session, actor, keys[original.budget_id])
    existing = repo.entry_by_key(session, idempotency_key)
    if existing is not None:
        return _replay(session, existing, {"entry_type": "reversal", "reverses_id": entry_id})
    if original.entry_type == "reversal":
        raise Conflict(f"记录 {entry_id} 本身是冲正记录，不能再冲正；如需付款请重新登记",
                       f"Entry {entry_id} is a reversal and cannot be reversed",
                       field="entry_id")
    done = repo.reversal_of(session, entry_id)
    if done is not None:
        raise Conflict(f"记录 {entry_id} 已于记录 {done.id} 冲正，不能重复冲正",
                       f"Entry {entry_id} was already reversed by entry {done.id}",
                       field="entry_id")
    posting = engine.post(_remaining_locked(session, budget), "reversal", original.amount,
                          budget_key=budget.key, reversed_delta=original.delta)
    entry = _append(session, actor, budget, entry_type="reversal", kind=original.kind,
                    payee_type=original.payee_type, payee_id=original.payee_id,
                    payee_name=original.payee_name, amount=original.amount,
                    delta=posting.delta, balance_after=posting.balance_after,
                    decision_ref=original.decision_ref, idempotency_key=idempotency_key,
                    reverses_id=original.id, memo=reason)
    audit.record(session, actor, "ledger.reverse", "ledger_entry", entry.id,
                 before={"entry_id": original.id, "amount": original.amount,
                         "kind": original.kind},
                 after={"budget": budget.key, "reason": reason,
                        "balance_after": posting.balance_after},
                 region_code=budget.region_code)
    return entry


def entries_for(session: Session, *, decision_ref: str | None = None,
                budget_key: str | None = None) -> list[EntryOut]:
    """Every entry of a decision and/or a budget, oldest first (for the calling
    capability's own pages: its own authorisation applies)."""
    if decision_ref is None and budget_key is None:
        raise InvalidInput("请给出决定文号或预算编号", "give a decision_ref or a budget_key")
    budget_id = None
    if budget_key is not None:
        budget = repo.budget_by_key(session, budget_key)
        if budget is None:
            return []
        budget_id = budget.id
    _, rows = repo.entries(session, decision_ref=decision_ref, budget_id=budget_id)
    rows.reverse()
    keys = repo.budget_keys(session, [e.budget_id for e in rows])
    return [_entry_out(e, keys[e.budget_id]) for e in rows]


def entry_page(session: Session, actor: Actor, *, budget_key: str | None = None,
               decision_ref: str | None = None, offset: int = 0, limit: int = 50) -> EntryPage:
    """Entries for the bureau's ledger page (newest first, within the actor's scope)."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以查看台账", "Only the bureau sees the ledger")
    budget_id = None
    if budget_key:
        budget = repo.budget_by_key(session, budget_key)
        if budget is None:
            raise NotFound(f"预算“{budget_key}”不存在", f"budget '{budget_key}' does not exist")
        _check_scope(session, actor, budget)
        budget_id = budget.id
    total, rows = repo.entries(session, decision_ref=decision_ref or None,
                               budget_id=budget_id, actor=actor, offset=offset, limit=limit)
    keys = repo.budget_keys(session, [e.budget_id for e in rows])
    return EntryPage(total=total, offset=offset, limit=limit,
                     entries=[_entry_out(e, keys[e.budget_id]) for e in rows])


def payee_entries(session: Session, actor: Actor, payee_type: str, payee_id: int
                  ) -> list[EntryOut]:
    """Money paid to one payee (an enterprise's or an institute's own payments page)."""
    own = ((actor.role == "enterprise" and payee_type == "enterprise"
            and actor.enterprise_id == payee_id)
           or (actor.role == "institute" and payee_type == "institute"
               and actor.institute_id == payee_id))
    if not (own or actor.is_bureau):
        raise Forbidden("只能查看本单位的款项", "You may see only your own payments")
    _, rows = repo.entries(session, payee=(payee_type, payee_id),
                           actor=actor if actor.is_bureau else None)
    keys = repo.budget_keys(session, [e.budget_id for e in rows])
    return [_entry_out(e, keys[e.budget_id]) for e in rows]


# --------------------------------------------------------------------------- reconciliation
def reconcile(session: Session, actor: Actor, year: int,
              budget_key: str | None = None) -> Reconciliation:
    """Per budget and year: opening, paid, received, reversed and closing, checked against
    the running balance written on the entries. Set-based: one grouped query over the
    entries and one read of the last balances."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以查看对账报告", "Only the bureau sees reconciliation")
    start, end = engine.year_bounds(year)
    rows = repo.reconciliation(session, actor, start, end, year, budget_key)
    balances = repo.balances_of(session, [r.last_id for r in rows if r.last_id is not None])
    out: list[ReconRow] = []
    for r in rows:
        opening = r.amount + r.before
        closing = engine.closing(opening, r.paid, r.received, r.rev_pay, r.rev_rec)
        ledger_balance = r.amount if r.last_id is None else balances[r.last_id]
        out.append(ReconRow(
            budget_id=r.id, key=r.key, title=r.title, region_code=r.region_code,
            budget_year=r.year, budget_amount=r.amount, opening=opening, paid=r.paid,
            received=r.received, reversed_payments=r.rev_pay, reversed_receipts=r.rev_rec,
            closing=closing, ledger_balance=ledger_balance, entries=r.n,
            balanced=closing == ledger_balance))
    totals = None
    if out:
        def s(name: str) -> Decimal:
            return sum((getattr(x, name) for x in out), _ZERO)
        totals = ReconRow(
            budget_id=0, key="", title="合计", region_code="", budget_year=year,
            budget_amount=s("budget_amount"), opening=s("opening"), paid=s("paid"),
            received=s("received"), reversed_payments=s("reversed_payments"),
            reversed_receipts=s("reversed_receipts"), closing=s("closing"),
            ledger_balance=s("ledger_balance"), entries=sum(x.entries for x in out),
            balanced=all(x.balanced for x in out))
    return Reconciliation(year=year, budget_key=budget_key, rows=out, totals=totals,
                          balanced=all(x.balanced for x in out))


RECON_HEADER = ["预算编号", "预算名称", "地区", "预算年度", "预算金额（元）", "年初余额（元）",
                "本年支付（元）", "本年收回（元）", "冲正付款（元）", "冲正收款（元）",
                "年末余额（元）", "台账余额（元）", "记录数", "是否平衡"]


def reconciliation_xlsx(report: Reconciliation) -> bytes:
    def line(x: ReconRow) -> list[Any]:
        return [x.key, x.title, x.region_code, x.budget_year, x.budget_amount, x.opening,
                x.paid, x.received, x.reversed_payments, x.reversed_receipts, x.closing,
                x.ledger_balance, x.entries, "平衡" if x.balanced else "不平衡"]
    rows = [line(x) for x in report.rows]
    if report.totals is not None:
        rows.append(line(report.totals))
    about: list[list[Any]] = [["年度", report.year],
             ["口径", "按北京时间自然年统计；年末余额 = 年初余额 − 本年支付 + "
                                       "本年收回 + 冲正付款 − 冲正收款"],
             ["核对", "年末余额与台账逐笔记载的余额一致即为平衡"],
             ["结论", "全部平衡" if report.balanced else "存在不平衡的预算，请核查"]]
    return write_xlsx([(f"{report.year}年对账", RECON_HEADER, rows),
                       ("说明", ["项目", "内容"], about)])


def do_export_reconciliation(session: Session, actor: Actor, year: int,
                             budget_key: str | None = None) -> bytes:
    """The reconciliation report as XLSX (money figures leaving the platform are audited)."""
    report = reconcile(session, actor, year, budget_key)
    body = reconciliation_xlsx(report)
    audit.record(session, actor, "ledger.export_reconciliation", "ledger_budget",
                 budget_key or f"year:{year}",
                 after={"year": year, "budgets": len(report.rows), "balanced": report.balanced})
    return body


# --------------------------------------------------------------------------- dividends
def dividend_budget_key(region_code: str, year: int) -> str:
    return f"dividends:{region_code}:{year}"


def do_pay_dividends(session: Session, actor: Actor, *, run_id: int, scheme: str,
                     budget_key: str | None = None) -> BatchOut:
    """Pay the points dividends of a *published* list through the ledger.

    The payment list is the lists capability's (:func:`kechuang.lists.service.payment_list`
    over the published run and the reward scheme — a shipped scheme id or a YAML file). The
    budget defaults to ``dividends:<run region>:<run year>``; when it does not exist yet and
    the scheme sets a budget, it is opened with that amount. Each enterprise is paid once per
    list: the idempotency key is ``dividend:<run id>:<enterprise id>``, so paying the same
    list again posts nothing new."""
    if actor.role not in rules().open_budget_roles:
        raise Forbidden("只有科技局管理员可以发放积分红利",
                        "Only a bureau administrator pays dividends")
    loaded = load_scheme_file(Path(scheme)) if scheme.endswith((".yaml", ".yml")) \
        else shipped_scheme(scheme)
    plist = lists_service.payment_list(session, actor, run_id, loaded)
    run = plist.run
    if not run.published:
        raise Conflict(f"评分批次 {run_id} 尚未发布榜单，不能发放红利",
                       f"Run {run_id} is not published; dividends are paid on published lists",
                       field="run_id")
    region = run.region_code or actor.region_code
    if region is None:
        raise InvalidInput("无法确定红利预算所属地区，请用 --budget 指定预算编号",
                           "cannot tell the budget's region; give --budget", field="budget_key")
    key = budget_key or dividend_budget_key(region, run.year)
    if repo.budget_by_key(session, key) is None:
        if plist.budget is None:
            raise NotFound(f"预算“{key}”不存在，且奖励方案未设预算；请先设立预算",
                           f"budget '{key}' does not exist and the scheme sets none",
                           field="budget_key")
        do_open_budget(session, actor, key=key,
                       title=f"{run.year} 年积分红利（{loaded.scheme.name}）",
                       region_code=region, year=run.year, amount=plist.budget,
                       source=f"奖励方案 {loaded.id}（{Path(loaded.source).name}，"
                              f"SHA-256 {loaded.sha256[:12]}）")
    items = [PaymentItem(payee_type="enterprise", payee_id=p.row.enterprise_id,
                         payee_name=p.row.name, amount=p.amount,
                         idempotency_key=f"dividend:{run.id}:{p.row.enterprise_id}",
                         memo=f"{p.rule}；积分 {round(p.row.points, 4)}")
             for p in plist.rows]
    return do_pay_batch(session, actor, budget_key=key, kind="dividend",
                        decision_ref=f"list:{run.id}:{loaded.id}", payments=items)
