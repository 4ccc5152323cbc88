"""Security logging (ASVS V7, issue 17 item 6): failed logins, refused requests, CSRF
failures and downloads are recorded — in a transaction of their own, so a refused request's
rollback does not erase them — and an administrator lists them with filters."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.models import ImportReport, User
from kechuang.models.security import SecurityEvent
from tests.conftest import login, page_csrf
from tests.support.seed import uscc


def _events(engine, kind: str) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return list(s.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)
                              .order_by(SecurityEvent.id)))


def test_refused_requests_are_security_events(client, engine):
    assert client.get("/api/v1/enterprises").status_code == 401
    login(client, "ent1")
    assert client.get("/audit").status_code == 403
    assert client.get(f"/api/v1/enterprises/{uscc(5, '320581')}").status_code == 404
    (e401,) = _events(engine, "refused.401")
    assert e401.path == "/api/v1/enterprises" and e401.username is None
    (e403,) = _events(engine, "refused.403")
    assert e403.username == "ent1" and e403.path == "/audit" and e403.status == 403
    (e404,) = _events(engine, "refused.404")
    assert e404.username == "ent1" and e404.role == "enterprise"


def test_csrf_failures_are_recorded(client, engine):
    login(client, "staff")
    assert client.post("/logout").status_code == 403
    (event,) = _events(engine, "csrf.failed")
    assert event.username == "staff" and event.method == "POST" and event.path == "/logout"


def test_failed_logins_are_recorded_with_the_address(client, engine):
    token = page_csrf(client.get("/login").text)
    client.post("/login", data={"username": "ghost", "password": "wrong-pass-99",
                                "csrf_token": token})
    (event,) = _events(engine, "login.failed")
    assert event.username == "ghost" and event.ip == "testclient"


def test_problem_report_downloads_are_recorded(client, engine):
    with unit_of_work(engine) as s:
        tax = s.scalar(select(User).where(User.username == "tax"))
        report = ImportReport(template="tax", department_code="tax", filename="bad.csv",
                              content_hash="y" * 64, problem_count=1,
                              problems=[["", 2, "B", "x", "不是数字"]], region_code="320582",
                              created_by=tax.id)
        s.add(report)
        s.flush()
        rid = report.id
    login(client, "tax")
    r = client.get(f"/import-reports/{rid}.xlsx")
    assert r.status_code == 200
    (event,) = _events(engine, "download.report")
    assert event.username == "tax" and event.path == f"/import-reports/{rid}.xlsx"
    assert "import-problems" in event.detail["file"]


def test_the_security_events_page_filters_and_is_scoped(client, engine):
    stranger = TestClient(client.app)
    token = page_csrf(stranger.get("/login").text)
    for _ in range(2):
        stranger.post("/login", data={"username": "staff", "password": "wrong-pass-99",
                                      "csrf_token": token})
    other = TestClient(client.app)
    login(other, "other_admin")
    other.get("/users/999999/nothing")
    login(client, "admin")
    page = client.get("/security-events?kind=login.failed")
    assert page.status_code == 200
    assert page.text.count('data-kind="login.failed"') == 2
    assert 'data-kind="login.ok"' not in page.text
    everything = client.get("/security-events").text
    assert 'data-kind="login.ok"' in everything
    # other_admin's login belongs to 常熟, not to 张家港's administrator
    assert "other_admin" not in everything
    client.cookies.set("kc_lang", "en")
    english = client.get("/security-events?user=staff").text
    client.cookies.delete("kc_lang")
    assert "Security events" in english and "安全事件" not in english
    partial = client.get("/security-events?kind=login", headers={
        "hx-request": "true", "hx-target": "security-rows"})
    assert "<html" not in partial.text and 'data-kind="login.ok"' in partial.text
    assert client.get("/security-events?status=abc").status_code == 422
