"""Every SQL statement of the ledger: budgets, the budget lock, entries and the set-based
reconciliation aggregate.

The lock that keeps a budget's payments within it (:func:`lock_budget`):

- PostgreSQL: ``SELECT … FOR UPDATE`` on the budget row; a concurrent payment on the same
  budget waits until this transaction ends, then (READ COMMITTED) sees its entry.
- SQLite: the Python driver opens transactions lazily (a ``BEGIN`` before the first write,
  reads run outside any transaction — see :mod:`kechuang.db`, which keeps the driver's
  default), so a read-check-write would race. When no transaction is open yet, the lock
  issues ``BEGIN IMMEDIATE``: the database's write lock is taken before the balance is
  read, and other writers wait (``busy_timeout``). When a transaction is already open, the
  unit of work has written before, so it already holds that write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import and_, case, exists, func, insert, literal, select, type_coerce
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_code_in_scope
from kechuang.db import ExactDecimal, begin_immediate, is_sqlite
from kechuang.models import Region
from kechuang.models.ledger import LedgerBudget, LedgerEntry


def lock_budget(session: Session, key: str) -> Any:
    """The budget row (id, key, region_code, year, amount), locked for the rest of the
    transaction (module docstring); a plain row, read through Core: the lock is on the hot
    path of every payment."""
    t = LedgerBudget.__table__
    stmt = select(t.c.id, t.c.key, t.c.region_code, t.c.year, t.c.amount).where(t.c.key == key)
    if is_sqlite(session):
        begin_immediate(session)
        return session.execute(stmt).first()
    return session.execute(stmt.with_for_update()).first()


def budget_by_key(session: Session, key: str) -> LedgerBudget | None:
    return session.scalar(select(LedgerBudget).where(LedgerBudget.key == key))


def budget_by_id(session: Session, budget_id: int) -> LedgerBudget | None:
    return session.get(LedgerBudget, budget_id)


def budget_keys(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(LedgerBudget.id, LedgerBudget.key)
                           .where(LedgerBudget.id.in_(sorted(set(ids))))).all()
    return {r.id: r.key for r in rows}


def region_path(session: Session, code: str) -> str | None:
    return session.scalar(select(Region.path).where(Region.code == code))


def add(session: Session, row: Any) -> None:
    session.add(row)
    session.flush()


def entry_by_key(session: Session, idempotency_key: str) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry)
                          .where(LedgerEntry.idempotency_key == idempotency_key))


def entry_by_id(session: Session, entry_id: int) -> LedgerEntry | None:
    return session.get(LedgerEntry, entry_id)


def reversal_of(session: Session, entry_id: int) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.reverses_id == entry_id))


def prior(session: Session, budget_id: int, idempotency_key: str
          ) -> tuple[int | None, Decimal | None]:
    """In one statement (under the budget's lock): the id of an entry already posted with
    ``idempotency_key`` and what is left after the budget's latest entry (None: no entry)."""
    existing = (select(LedgerEntry.id).where(LedgerEntry.idempotency_key == idempotency_key)
                .scalar_subquery())
    last = (select(LedgerEntry.balance_after).where(LedgerEntry.budget_id == budget_id)
            .order_by(LedgerEntry.id.desc()).limit(1).scalar_subquery())
    row = session.execute(select(existing, type_coerce(last, ExactDecimal()))).one()
    return row[0], row[1]


def insert_entry(session: Session, values: dict[str, Any]) -> int:
    """One entry through Core (no ORM bookkeeping under the lock); returns its id."""
    return int(session.execute(insert(LedgerEntry).values(**values)
                               .returning(LedgerEntry.id)).scalar_one())


def post_payment(session: Session, budget: Any, values: dict[str, Any],
                 amount: Decimal) -> tuple[int, Decimal] | None:
    """The payment in one statement under the budget's lock: ``INSERT … SELECT`` of the entry
    with ``balance_after`` = what is left − ``amount``, only when that is not negative and the
    idempotency key is new. Returns (id, balance_after), or None when nothing was written
    (the caller then tells a replay from an overspend)."""
    e = LedgerEntry
    money = ExactDecimal()
    last = (select(e.balance_after).where(e.budget_id == budget.id)
            .order_by(e.id.desc()).limit(1).scalar_subquery())
    current = func.coalesce(last, literal(budget.amount, money))
    fresh = ~exists().where(e.idempotency_key == values["idempotency_key"])
    cols = [*values, "budget_id", "entry_type", "amount", "delta", "balance_after"]
    source = select(*[literal(v, e.__table__.c[k].type) for k, v in values.items()],
                    literal(budget.id), literal("payment"), literal(amount, money),
                    literal(-amount, money), type_coerce(current - literal(amount, money), money)
                    ).where(current >= literal(amount, money), fresh)
    row = session.execute(insert(e).from_select(cols, source)
                          .returning(e.id, e.balance_after)).first()
    return None if row is None else (int(row[0]), row[1])


def last_balance(session: Session, budget_id: int) -> Decimal | None:
    """What is left after the budget's latest entry (None: no entry yet)."""
    return session.scalar(select(LedgerEntry.balance_after)
                          .where(LedgerEntry.budget_id == budget_id)
                          .order_by(LedgerEntry.id.desc()).limit(1))


def entries(session: Session, *, decision_ref: str | None = None,
            budget_id: int | None = None, payee: tuple[str, int] | None = None,
            actor: Actor | None = None, offset: int = 0, limit: int | None = None
            ) -> tuple[int, list[LedgerEntry]]:
    """Entries (newest first) with their total count; ``actor`` limits to budgets in scope."""
    where = []
    if decision_ref is not None:
        where.append(LedgerEntry.decision_ref == decision_ref)
    if budget_id is not None:
        where.append(LedgerEntry.budget_id == budget_id)
    if payee is not None:
        where += [LedgerEntry.payee_type == payee[0], LedgerEntry.payee_id == payee[1]]
    if actor is not None and actor.region_path != "/":
        where.append(LedgerEntry.budget_id.in_(
            select(LedgerBudget.id).where(region_code_in_scope(actor, LedgerBudget.region_code))))
    total = session.scalar(select(func.count()).select_from(LedgerEntry).where(*where)) or 0
    stmt = select(LedgerEntry).where(*where).order_by(LedgerEntry.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return total, list(session.scalars(stmt))


def _money(expr: Any) -> Any:
    return type_coerce(func.coalesce(func.sum(expr), literal(0)), ExactDecimal())


def budget_rows(session: Session, actor: Actor, *, year: int | None = None,
                prefix: str | None = None) -> list[Any]:
    """Budgets in the actor's scope with paid / received / reversed sums and what is left,
    one grouped query."""
    e = LedgerEntry
    paid = _money(case((e.entry_type == "payment", e.amount)))
    received = _money(case((e.entry_type == "receipt", e.amount)))
    reversed_ = _money(case((e.entry_type == "reversal", e.delta)))
    delta = _money(e.delta)
    stmt = (select(LedgerBudget, paid.label("paid"), received.label("received"),
                   reversed_.label("reversed"), delta.label("delta"),
                   func.count(e.id).label("n"))
            .outerjoin(e, e.budget_id == LedgerBudget.id)
            .where(region_code_in_scope(actor, LedgerBudget.region_code))
            .group_by(LedgerBudget.id).order_by(LedgerBudget.year.desc(), LedgerBudget.key))
    if year is not None:
        stmt = stmt.where(LedgerBudget.year == year)
    if prefix:
        stmt = stmt.where(LedgerBudget.key.startswith(prefix, autoescape=True))
    return list(session.execute(stmt).all())


def reconciliation(session: Session, actor: Actor, start: datetime, end: datetime,
                   year: int, budget_key: str | None = None) -> list[Any]:
    """Per budget: the sums before ``start`` and within [start, end), and the id of the last
    entry before ``end`` — one grouped scan of the entries (set-based, aggregated before the
    join with the few budgets), for budgets of the year or with entries in it."""
    e = LedgerEntry
    in_year = e.created_at >= start
    before = _money(case((e.created_at < start, e.delta)))
    paid = _money(case((and_(in_year, e.entry_type == "payment"), e.amount)))
    received = _money(case((and_(in_year, e.entry_type == "receipt"), e.amount)))
    rev_pay = _money(case((and_(in_year, e.entry_type == "reversal", e.delta > 0), e.amount)))
    rev_rec = _money(case((and_(in_year, e.entry_type == "reversal", e.delta < 0), e.amount)))
    sums = (select(e.budget_id, before.label("before"), paid.label("paid"),
                   received.label("received"), rev_pay.label("rev_pay"),
                   rev_rec.label("rev_rec"), func.count(case((in_year, 1))).label("n"),
                   func.max(e.id).label("last_id"))
            .where(e.created_at < end).group_by(e.budget_id))
    if budget_key is not None:
        sums = sums.where(e.budget_id.in_(select(LedgerBudget.id)
                                          .where(LedgerBudget.key == budget_key)))
    agg = {r.budget_id: r for r in session.execute(sums)}
    stmt = (select(LedgerBudget.id, LedgerBudget.key, LedgerBudget.title,
                   LedgerBudget.region_code, LedgerBudget.year, LedgerBudget.amount)
            .where(region_code_in_scope(actor, LedgerBudget.region_code))
            .order_by(LedgerBudget.key))
    if budget_key is not None:
        stmt = stmt.where(LedgerBudget.key == budget_key)
    zero = Decimal(0)
    out = []
    for b in session.execute(stmt):
        a = agg.get(b.id)
        n = a.n if a is not None else 0
        if b.year != year and n == 0:
            continue
        out.append(_Recon(b.id, b.key, b.title, b.region_code, b.year, b.amount,
                          a.before if a else zero, a.paid if a else zero,
                          a.received if a else zero, a.rev_pay if a else zero,
                          a.rev_rec if a else zero, n, a.last_id if a else None))
    return out


class _Recon(NamedTuple):
    id: int
    key: str
    title: str
    region_code: str
    year: int
    amount: Decimal
    before: Decimal
    paid: Decimal
    received: Decimal
    rev_pay: Decimal
    rev_rec: Decimal
    n: int
    last_id: int | None


def balances_of(session: Session, entry_ids: Sequence[int]) -> dict[int, Decimal]:
    ids = sorted({int(i) for i in entry_ids if i is not None})
    out: dict[int, Decimal] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for r in session.execute(select(e_id := LedgerEntry.id, LedgerEntry.balance_after)
                                 .where(e_id.in_(chunk))):
            out[r[0]] = r[1]
    return out


def payments_for(session: Session, decision_prefix: str) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry)
                                .where(LedgerEntry.decision_ref.startswith(decision_prefix,
                                                                           autoescape=True))
                                .order_by(LedgerEntry.id)))


def existing_keys(session: Session, keys: Sequence[str]) -> dict[str, LedgerEntry]:
    out: dict[str, LedgerEntry] = {}
    ks = sorted(set(keys))
    for start in range(0, len(ks), 1000):
        for e in session.scalars(select(LedgerEntry)
                                 .where(LedgerEntry.idempotency_key.in_(ks[start:start + 1000]))):
            out[e.idempotency_key] = e
    return out


def insert_entries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Many entries in one statement per chunk (through the column types, so exact decimals
    are stored as each backend keeps them)."""
    for start in range(0, len(rows), 1000):
        session.execute(insert(LedgerEntry), rows[start:start + 1000])
