"""The lean redemption path (PostgreSQL: one call of ``kechuang_voucher_redeem``; SQLite: the
same steps in Python): the amount follows the engine's rule to the cent, every redemption is
one append-only ledger entry with its idempotency key and running balance, and both audit
rows are written with it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, InvalidInput
from kechuang.ledger import service as ledger
from kechuang.models import AuditEvent
from kechuang.models.ledger import LedgerEntry, VoucherRedemption
from kechuang.vouchers import engine as vengine
from kechuang.vouchers import service as vouchers
from tests.ledger.helpers import actor
from tests.vouchers.helpers import code_of, voucher_county
from tests.vouchers.test_service import DAY

# invoices whose covered share needs flooring, an exact one, one over the face value
INVOICES = ["33333.33", "0.02", "12345.67", "83333.34", "83333.33", "99999.99"]


def test_amounts_ledger_and_audit_follow_the_engine(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s, extra=len(INVOICES))
        holders = c["more"]
        codes = [code_of(s, e) for e in holders]
        provider_id = c["provider"].id
        budget = ledger.remaining(s, "vouchers:320582:2024")
    paid = []
    for i, ((code, uscc), invoice) in enumerate(zip(codes, INVOICES, strict=True)):
        with unit_of_work(engine) as s:
            red = vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=uscc,
                                     provider_id=provider_id, invoice_no=f"L-{i}",
                                     invoice_amount=invoice, today=DAY)
        want = vengine.redeem_amount(Decimal(invoice), Decimal("0.6"), Decimal("50000"))
        assert red.amount == want, invoice
        assert red.ledger_entry_id is not None and not red.replayed
        paid.append(want)
    with unit_of_work(engine) as s:
        entries = s.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
        assert [e.amount for e in entries] == paid
        assert [e.idempotency_key for e in entries] == [f"voucher:{c}" for c, _ in codes]
        assert all(e.kind == "voucher_settlement" and e.payee_type == "provider"
                   and e.payee_id == provider_id and e.delta == -e.amount for e in entries)
        running = budget
        for e in entries:
            running -= e.amount
            assert e.balance_after == running
        assert ledger.remaining(s, "vouchers:320582:2024") == budget - sum(paid)
        assert entries[0].memo == "发票 L-0，金额 33333.33，抵扣比例 0.6"
        reds = s.scalars(select(VoucherRedemption).order_by(VoucherRedemption.id)).all()
        assert [r.amount for r in reds] == paid
        assert all(r.payment_key == e.idempotency_key for r, e in zip(reds, entries,
                                                                      strict=True))
        rows = s.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["vouchers.redeem", "ledger.pay"]))
            .order_by(AuditEvent.id)).all()
        redeem_rows = [a for a in rows if a.action == "vouchers.redeem"]
        pay_rows = [a for a in rows if a.action == "ledger.pay"]
        assert len(redeem_rows) == len(pay_rows) == len(INVOICES)
        assert [a.object_id for a in pay_rows] == [str(e.id) for e in entries]
        assert all(a.actor == "inst" and a.region_code for a in rows)
        assert Decimal(redeem_rows[0].after["amount"]) == paid[0]
        assert redeem_rows[0].after["invoice_no"] == "L-0"
        assert Decimal(pay_rows[-1].after["balance_after"]) == entries[-1].balance_after
    # the ledger stays append-only under the lean path too
    with pytest.raises(Exception), unit_of_work(engine) as s:  # noqa: B017, PT011
        ledger_entry = LedgerEntry.__table__
        s.execute(ledger_entry.update().values(memo="changed"))


def test_refusals_of_the_lean_path_write_nothing(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        code, uscc = code_of(s, c["ids"][1])
        p = c["provider"].id
        other = vouchers.do_add_service(s, actor(s, "admin"), provider_id=p,
                                        category="testing", name="x")
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=uscc, provider_id=p,
                           invoice_no="SAME", invoice_amount="100", today=DAY)
        code2, uscc2 = code_of(s, c["ids"][2])
    with pytest.raises(Conflict, match="发票号码"), unit_of_work(engine) as s:
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code2, uscc=uscc2, provider_id=p,
                           invoice_no="SAME", invoice_amount="100", today=DAY)
    with pytest.raises(InvalidInput, match="不足 1 分"), unit_of_work(engine) as s:
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code2, uscc=uscc2, provider_id=p,
                           invoice_no="N1", invoice_amount="0.01", today=DAY)
    with pytest.raises(InvalidInput, match="服务项目"), unit_of_work(engine) as s:
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code2, uscc=uscc2, provider_id=p,
                           invoice_no="N2", invoice_amount="100", service_id=other.id + 99,
                           today=DAY)
    with unit_of_work(engine) as s:
        assert len(s.scalars(select(VoucherRedemption)).all()) == 1
        assert len(s.scalars(select(LedgerEntry)).all()) == 1
