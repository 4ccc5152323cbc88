"""Ledger pages and API: budgets and entries, reconciliation with XLSX, own payments, bad
input through the API (the field named, nothing written), both languages."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.ledger import service as ledger
from kechuang.ledger.engine import ZONE
from kechuang.models import Enterprise
from tests.conftest import login
from tests.ledger.helpers import actor, open_budget, pay
from tests.support.seed import uscc

CJK = re.compile(r"[\u4e00-\u9fff]")


def _data(engine) -> int:  # type: ignore[no-untyped-def]
    year = datetime.now(UTC).astimezone(ZONE).year
    with unit_of_work(engine) as s:
        open_budget(s, key=f"program:W:{year}", amount="1000", year=year)
        pay(s, "250.5", "w1", budget=f"program:W:{year}")
    return year


def test_api_pays_once_and_refuses_bad_amounts(app, client, engine) -> None:
    year = _data(engine)
    csrf = login(client, "staff")
    body = {"budget_key": f"program:W:{year}", "kind": "grant", "payee_type": "enterprise",
            "payee_name": "张家港华芯微电子有限公司", "amount": "100.00", "decision_ref": "D-1",
            "idempotency_key": "api-1"}
    h = {"X-CSRF-Token": csrf}
    first = client.post("/api/v1/ledger/payments", json=body, headers=h)
    assert first.status_code == 200, first.text
    again = client.post("/api/v1/ledger/payments", json=body, headers=h)
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"]
    for amount, fragment in (("-1", "必须大于零"), ("1.234", "精确到分"),
                             ("abc", "不是有效的金额")):
        r = client.post("/api/v1/ledger/payments", json=body | {"amount": amount,
                                                                 "idempotency_key": amount},
                        headers=h)
        assert r.status_code == 422 and fragment in r.text and "金额" in r.text
    over = client.post("/api/v1/ledger/payments",
                       json=body | {"amount": "1000", "idempotency_key": "big"}, headers=h)
    assert over.status_code == 409 and "超出预算" in over.text
    # staff may not reverse (administrators only)
    r = client.post("/api/v1/ledger/reversals", headers=h, json={
        "entry_id": first.json()["id"], "reason": "x", "idempotency_key": "rv"})
    assert r.status_code == 403
    with unit_of_work(engine) as s:
        assert ledger.remaining(s, f"program:W:{year}") == Decimal("649.5")


def test_pages_and_export(app, client, engine) -> None:
    year = _data(engine)
    login(client, "admin")
    page = client.get("/ledger")
    assert page.status_code == 200 and f"program:W:{year}" in page.text
    recon = client.get(f"/ledger/reconciliation?year={year}")
    assert "全部平衡" in recon.text and "749.5" in recon.text
    xlsx = client.get(f"/ledger/reconciliation.xlsx?year={year}")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [c.value for c in sheet[1]][0] == "预算编号"
    client.get("/lang/en")
    for url in ("/ledger", f"/ledger/reconciliation?year={year}"):
        body = client.get(url).text.split("<main", 1)[1].split("</main>", 1)[0]
        body = body.replace("张家港华芯微电子有限公司", "").replace("测试预算", "")
        assert not CJK.search(body), (url, CJK.findall(body)[:20])


def test_enterprise_sees_its_own_payments(app, client, engine) -> None:
    year = _data(engine)
    with unit_of_work(engine) as s:
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(1)))
        other = s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(2)))
        for payee, key in ((eid, "own"), (other, "not-own")):
            ledger.do_pay(s, actor(s, "admin"), budget_key=f"program:W:{year}", kind="grant",
                          payee_type="enterprise", payee_id=payee, payee_name="某企业",
                          amount=Decimal("12.34"), decision_ref=f"D-{key}",
                          idempotency_key=key)
    login(client, "ent1")
    page = client.get("/ledger/my-payments")
    assert page.status_code == 200 and "D-own" in page.text and "D-not-own" not in page.text
    refs = {e["decision_ref"] for e in client.get("/api/v1/ledger/my-payments").json()}
    assert "D-own" in refs and "D-not-own" not in refs
