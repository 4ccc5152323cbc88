from __future__ import annotations

from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.models import AuditEvent, LoginSession
from tests.conftest import login, page_csrf


def test_login_opens_a_session_and_shows_the_role(client, engine):
    login(client, "staff")
    home = client.get("/")
    assert "科技局工作人员" in home.text
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LoginSession)) == 1
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "session.login"))


def test_wrong_password_is_refused_in_chinese(client):
    token = page_csrf(client.get("/login").text)
    r = client.post("/login", data={"username": "staff", "password": "nope-nope-1",
                                    "csrf_token": token})
    assert r.status_code == 422
    assert "用户名或密码错误" in r.text
    assert "kc_session" not in r.cookies


def test_login_without_csrf_token_is_refused(client):
    client.get("/login")
    r = client.post("/login", data={"username": "staff", "password": "test-pass-123"})
    assert r.status_code == 403
    assert "CSRF" in r.text


def test_repeated_failures_lock_the_account_even_for_the_right_password(client):
    token = page_csrf(client.get("/login").text)
    for _ in range(5):
        client.post("/login", data={"username": "staff", "password": "wrong-pass-1",
                                    "csrf_token": token})
    r = client.post("/login", data={"username": "staff", "password": "test-pass-123",
                                    "csrf_token": token})
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text


def test_logout_revokes_the_server_side_session(client):
    csrf = login(client, "staff")
    cookie = client.cookies.get("kc_session")
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("kc_session", cookie)  # replaying the old cookie must not work
    r = client.get("/api/v1/me")
    assert r.json()["role"] == "public"


def test_language_switch_renders_english(client):
    login(client, "staff")
    client.get("/lang/en", follow_redirects=False)
    assert "Bureau staff" in client.get("/").text
