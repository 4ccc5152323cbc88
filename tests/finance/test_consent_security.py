"""A bank never sees an enterprise that has not consented to *that* bank — on any bank
page, API route or export, nor in a count small enough to identify it; consent is per
bank, time-limited and revocable at once; every bank view is logged for the enterprise."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.finance import service
from kechuang.finance.schemas import ConsentIn
from kechuang.models import AuditEvent, Enterprise
from kechuang.models.base import utcnow
from kechuang.models.finance import FinanceAccess, FinanceConsent
from tests.conftest import login
from tests.finance.conftest import actor, enterprise_actor
from tests.support.seed import uscc

BANK_PAGES = [
    "/finance/bank",
    "/api/v1/finance/bank/matches",
    "/finance/bank/export.xlsx",
    "/finance/bank/products/new",
    "/api/v1/finance/products",
]


def _names(engine) -> dict[int, tuple[str, str]]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return {
            n: (e.name, e.uscc)
            for n in (1, 2, 3)
            for e in [s.scalar(select(Enterprise).where(Enterprise.uscc == uscc(n)))]
        }


def _bank_text(client: TestClient, need_ids: list[int]) -> str:
    parts = []
    for url in (
        BANK_PAGES
        + [f"/finance/bank/needs/{i}" for i in need_ids]
        + [f"/api/v1/finance/bank/needs/{i}" for i in need_ids]
    ):
        r = client.get(url)
        assert r.status_code in (200, 404), (url, r.status_code)
        if url.endswith(".xlsx"):
            wb = openpyxl.load_workbook(io.BytesIO(r.content))
            parts += [str(c.value) for ws in wb for row in ws.iter_rows() for c in row]
        else:
            parts.append(r.text)
    return "\n".join(parts)


def test_no_consent_no_identity_on_any_bank_route(engine, app, scene):
    with unit_of_work(engine) as s:
        service.do_match(s, actor(s, "admin"))
    names = _names(engine)
    client = TestClient(app)
    login(client, "bank")
    text = _bank_text(client, list(scene.needs.values()))
    for name, code in names.values():
        assert name not in text and code not in text
    # three matched needs without consent: fewer than 5, so neither rows nor the count
    m = client.get("/api/v1/finance/bank/matches").json()
    assert m["consented"] == [] and m["anonymous"] == [] and m["anonymous_count"] is None
    assert 'data-testid="suppressed"' in client.get("/finance/bank").text
    for need_id in scene.needs.values():
        assert client.get(f"/finance/bank/needs/{need_id}").status_code == 404
        assert client.get(f"/api/v1/finance/bank/needs/{need_id}").status_code == 404
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(FinanceAccess)) == 0


def test_consent_to_one_bank_shows_it_to_that_bank_only_and_is_logged(engine, app, scene):
    names = _names(engine)
    with unit_of_work(engine) as s:
        service.do_match(s, actor(s, "admin"))
        c = service.do_consent(s, enterprise_actor(s, 1), ConsentIn(bank_id=scene.bank1, days=30))
        consent_id = c.id
    bank = TestClient(app)
    login(bank, "bank")
    text = _bank_text(bank, [scene.needs[1]])
    assert names[1][0] in text and names[1][1] in text
    assert names[2][0] not in text and names[3][0] not in text
    r = bank.get(f"/api/v1/finance/bank/needs/{scene.needs[1]}")
    assert r.status_code == 200 and r.json()["need"]["purpose"] == "扩产流动资金"
    # the other bank sees nothing of enterprise 1
    other = TestClient(app)
    login(other, "bank2")
    assert names[1][0] not in _bank_text(other, [scene.needs[1]])
    # every view is in the enterprise's "who looked at my data" and in the audit log
    ent = TestClient(app)
    login(ent, "ent1")
    page = ent.get("/finance/me").text
    assert "张家港农村商业银行" in page.split('data-testid="access-log"')[1]
    with unit_of_work(engine) as s:
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(1)))
        views = s.scalars(select(FinanceAccess).where(FinanceAccess.enterprise_id == eid)).all()
        assert views and {v.bank_id for v in views} == {scene.bank1}
        assert s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "finance.bank_view", AuditEvent.object_id == str(eid))
        ) >= len(views)
        # revoked: gone at once, on every route
        service.do_revoke(s, enterprise_actor(s, 1), consent_id)
    text = _bank_text(bank, [scene.needs[1]])
    assert names[1][0] not in text and names[1][1] not in text
    assert bank.get(f"/finance/bank/needs/{scene.needs[1]}").status_code == 404


def test_expired_consent_shows_nothing(engine, app, scene):
    names = _names(engine)
    with unit_of_work(engine) as s:
        service.do_match(s, actor(s, "admin"))
        c = service.do_consent(s, enterprise_actor(s, 2), ConsentIn(bank_id=scene.bank1, days=1))
        c.expires_at = utcnow() - timedelta(minutes=1)
    bank = TestClient(app)
    login(bank, "bank")
    assert names[2][0] not in _bank_text(bank, [scene.needs[2]])


def test_consent_longer_than_the_rule_is_refused(engine, scene):
    import pytest

    from kechuang.kit.errors import InvalidInput

    with unit_of_work(engine) as s:
        with pytest.raises(InvalidInput):
            service.do_consent(
                s, enterprise_actor(s, 1), ConsentIn(bank_id=scene.bank1, days=4000 // 4 * 3)
            )
        assert s.scalar(select(func.count()).select_from(FinanceConsent)) == 0
