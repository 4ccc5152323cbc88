"""The ledger seam: budgets, payments, receipts, reversals, idempotency and overspending."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.ledger import service as ledger
from kechuang.models import AuditEvent
from kechuang.models.ledger import LedgerEntry
from tests.ledger.helpers import actor, open_budget, pay


def test_pay_receive_reverse_and_remaining(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        b = open_budget(s)
        assert b.amount == Decimal("1000000")
        e1 = pay(s, "300000", "k1")
        e2 = pay(s, "200000.50", "k2", kind="tranche")
        assert (e1.balance_after, e2.balance_after) == (Decimal("700000"), Decimal("499999.5"))
        r = ledger.do_receive(s, actor(s, "admin"), budget_key=b.key, amount=Decimal("10"),
                              decision_ref="recovery:1", idempotency_key="k3")
        assert r.entry_type == "receipt" and r.delta == Decimal("10")
        rev = ledger.do_reverse(s, actor(s, "admin"), entry_id=e1.id, reason="金额录错",
                                idempotency_key="k4")
        assert rev.reverses_id == e1.id and rev.delta == Decimal("300000")
        assert rev.decision_ref == e1.decision_ref
    with unit_of_work(engine) as s:
        assert ledger.remaining(s, b.key) == Decimal("800009.5")
        assert [e.id for e in ledger.entries_for(s, decision_ref="decision:1")] == [
            e1.id, e2.id, rev.id]
        assert len(ledger.entries_for(s, budget_key=b.key)) == 4
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("ledger.%")).order_by(AuditEvent.id)).all()
        assert actions == ["ledger.open_budget", "ledger.pay", "ledger.pay", "ledger.receive",
                           "ledger.reverse"]


def test_idempotent_payment_pays_once(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s)
        first = pay(s, "100", "same-key")
    with unit_of_work(engine) as s:
        again = pay(s, "100", "same-key")
        assert again.id == first.id and again.replayed
        with pytest.raises(Conflict, match="幂等键"):
            pay(s, "101", "same-key")
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 1
        assert ledger.remaining(s, "program:T-1:2024") == Decimal("999900")


def test_overspending_refused_nothing_written(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s, amount="100")
        pay(s, "60", "a")
    with pytest.raises(Conflict, match="超出预算") as err, unit_of_work(engine) as s:
        pay(s, "40.01", "b")
    assert "剩余 40.00 元" in err.value.message_zh
    with unit_of_work(engine) as s:
        pay(s, "40", "c")
        assert ledger.remaining(s, "program:T-1:2024") == Decimal(0)
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 2


@pytest.mark.parametrize(("amount", "fragment"), [
    ("-5", "必须大于零"), ("0", "必须大于零"), ("1.001", "精确到分"), ("十万", "不是有效的金额"),
    ("NaN", "不是有效的金额"), ("Infinity", "不是有效的金额"), ("1e30", "超过上限"),
])
def test_bad_amounts_name_the_field(engine: Engine, amount: str, fragment: str) -> None:
    with unit_of_work(engine) as s:
        open_budget(s)
    with pytest.raises(InvalidInput) as err, unit_of_work(engine) as s:
        ledger.do_pay(s, actor(s, "admin"), budget_key="program:T-1:2024", kind="grant",
                      payee_type="enterprise", payee_id=1, payee_name="某企业",
                      amount=amount, decision_ref="d", idempotency_key="x")  # type: ignore[arg-type]
    assert fragment in err.value.message_zh and "金额" in err.value.message_zh
    assert err.value.details["field"] == "金额"
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_float_amount_refused(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s)
        with pytest.raises(InvalidInput, match="浮点"):
            ledger.do_pay(s, actor(s, "admin"), budget_key="program:T-1:2024", kind="grant",
                          payee_type="enterprise", payee_id=1, payee_name="某企业",
                          amount=0.1, decision_ref="d",  # type: ignore[arg-type]
                          idempotency_key="x")


def test_wrong_role_and_scope(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s)
        with pytest.raises(Forbidden):
            pay(s, "1", "e1", who="ent1")  # an enterprise may not post grants
        with pytest.raises(Forbidden, match="辖区"):
            pay(s, "1", "o1", who="other_admin")
        with pytest.raises(Forbidden):
            ledger.do_open_budget(s, actor(s, "staff"), key="program:X:2024", title="x",
                                  region_code="320582", year=2024, amount=Decimal(1),
                                  source="某文件第1条")
        with pytest.raises(Forbidden):
            ledger.do_reverse(s, actor(s, "staff"), entry_id=1, reason="x", idempotency_key="r")


def test_decision_reference_required_and_unknown_budget(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s)
        with pytest.raises(InvalidInput, match="决定文号"):
            pay(s, "1", "k", decision=" ")
        with pytest.raises(NotFound, match="预算编号"):
            pay(s, "1", "k", budget="program:NOPE:2024")
        with pytest.raises(InvalidInput, match="款项类别"):
            pay(s, "1", "k", kind="bonus")


def test_reverse_twice_refused_and_reversal_not_reversed(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s)
        e = pay(s, "5", "k")
        rev = ledger.do_reverse(s, actor(s, "admin"), entry_id=e.id, reason="错付",
                                idempotency_key="r1")
        assert ledger.do_reverse(s, actor(s, "admin"), entry_id=e.id, reason="错付",
                                 idempotency_key="r1").id == rev.id
        with pytest.raises(Conflict, match="已于记录"):
            ledger.do_reverse(s, actor(s, "admin"), entry_id=e.id, reason="again",
                              idempotency_key="r2")
        with pytest.raises(Conflict, match="冲正记录"):
            ledger.do_reverse(s, actor(s, "admin"), entry_id=rev.id, reason="x",
                              idempotency_key="r3")


def test_reversing_a_receipt_cannot_overspend(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s, amount="10")
        r = ledger.do_receive(s, actor(s, "admin"), budget_key="program:T-1:2024",
                              amount=Decimal("5"), decision_ref="x", idempotency_key="r")
        pay(s, "15", "p")
        with pytest.raises(Conflict, match="超出预算"):
            ledger.do_reverse(s, actor(s, "admin"), entry_id=r.id, reason="收错",
                              idempotency_key="rr")


def test_open_budget_idempotent_but_never_changed(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        a = open_budget(s)
        assert open_budget(s).id == a.id
        with pytest.raises(Conflict, match="已存在"):
            open_budget(s, amount="2000000")
        with pytest.raises(InvalidInput, match="预算编号"):
            open_budget(s, key="bad key")


def test_database_refuses_update_and_delete(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s)
        pay(s, "5", "k")
    for sql in ("UPDATE ledger_entry SET memo = 'x'", "DELETE FROM ledger_entry",
                "UPDATE ledger_budget SET amount = amount + 1", "DELETE FROM ledger_budget"):
        with pytest.raises((DBAPIError, IntegrityError)) as err, engine.begin() as conn:
            conn.execute(text(sql))
        assert "refused" in str(err.value) or "fixed" in str(err.value)
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_budget SET title = 'renamed'"))  # allowed
        assert conn.execute(text("SELECT count(*) FROM ledger_entry")).scalar() == 1
