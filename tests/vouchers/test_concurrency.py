"""Concurrent redemptions with real threads (each its own connection and transaction), on
the backend under test: one budget that runs out mid-way, and one voucher presented many
times at once."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import Engine, func, select

from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError
from kechuang.ledger import service as ledger
from kechuang.models.ledger import LedgerEntry, VoucherRedemption
from kechuang.vouchers import service as vouchers
from tests.ledger.helpers import actor
from tests.vouchers.helpers import code_of, voucher_county
from tests.vouchers.test_service import DAY


def test_concurrent_redemptions_never_exceed_budget_or_redeem_twice(engine: Engine) -> None:
    budget = Decimal("525000.50")  # ten vouchers of 50,000 fit, the eleventh does not
    with unit_of_work(engine) as s:
        c = voucher_county(s, extra=30, budget=str(budget))
        holders = [c["ids"][1], c["ids"][2], c["ids"][4], *c["more"]]
        codes = [code_of(s, e) for e in holders]
        provider_id = c["provider"].id
    shared = codes[0]
    jobs = [(code, uscc, f"INV-{i}") for i, (code, uscc) in enumerate(codes[1:], start=1)]
    jobs += [(shared[0], shared[1], f"SHARED-{i}") for i in range(8)]
    barrier = threading.Barrier(len(jobs))
    ok: list[Decimal] = []
    refused: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def redeem(code: str, uscc: str, invoice: str) -> None:
        barrier.wait()
        try:
            with unit_of_work(engine) as s:
                red = vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=uscc,
                                         provider_id=provider_id, invoice_no=invoice,
                                         invoice_amount="100000", today=DAY)
            with lock:
                ok.append(red.amount)
        except KechuangError as exc:
            with lock:
                refused.append(exc.message_zh)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                unexpected.append(exc)

    threads = [threading.Thread(target=redeem, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not unexpected, unexpected
    assert len(ok) + len(refused) == len(jobs)
    assert len(ok) == 10 and sum(ok) == Decimal("500000")
    assert all("超出预算" in m or "重复兑付" in m or "已被兑付" in m for m in refused)
    with unit_of_work(engine) as s:
        n_shared = s.scalar(select(func.count()).select_from(VoucherRedemption)
                            .where(VoucherRedemption.invoice_no.like("SHARED-%")))
        assert n_shared <= 1
        paid = s.scalars(select(LedgerEntry.amount)).all()
        assert len(paid) == 10 and sum(paid, Decimal(0)) <= budget
        assert ledger.remaining(s, "vouchers:320582:2024") == Decimal("25000.5")
        assert s.scalar(select(func.count()).select_from(VoucherRedemption)) == 10
        # the running balance agrees with the sums to the cent
        report = ledger.reconcile(s, actor(s, "admin"), _year(s))
        assert report.balanced


def _year(s) -> int:  # type: ignore[no-untyped-def]
    """The calendar year (Asia/Shanghai) the entries were written in."""
    from kechuang.ledger.engine import ZONE

    created = s.scalar(select(func.max(LedgerEntry.created_at)))
    return created.astimezone(ZONE).year
