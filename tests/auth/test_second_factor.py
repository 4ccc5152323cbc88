"""Login evidence, lock-outs an attacker cannot turn against an administrator, password
change and reset, and the TOTP second factor (issue 17 item 5)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kechuang.auth import totp
from kechuang.config import get_settings
from kechuang.db import unit_of_work
from kechuang.models import LoginAttempt, LoginSession, User
from kechuang.models.security import SecurityEvent, TotpCredential
from tests.conftest import login, page_csrf
from tests.support.seed import PASSWORD


def _post_login(client: TestClient, username: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    token = page_csrf(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, headers=headers,
                       follow_redirects=False)


def _kinds(engine, username: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        q = select(SecurityEvent.kind).order_by(SecurityEvent.id)
        if username:
            q = q.where(SecurityEvent.username == username)
        return list(s.scalars(q))


def test_failed_logins_are_kept_after_a_success(client, engine):
    assert _post_login(client, "staff", "wrong-pass-99").status_code == 422
    assert _post_login(client, "staff", PASSWORD).status_code == 303
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)
                        .where(LoginAttempt.username == "staff")) == 1
    assert _kinds(engine, "staff") == ["login.failed", "login.ok"]


def test_an_attacker_elsewhere_cannot_lock_out_the_administrator(app_with):
    """Thirty wrong passwords for ``admin`` from other addresses: those addresses are
    refused, but the administrator's own address (which logged in before) still gets in."""
    app = app_with(trusted_proxies=["127.0.0.1"], login_account_max_failures=20)
    admin_ip = {"X-Forwarded-For": "10.0.0.5"}
    client = TestClient(app, client=("127.0.0.1", 1))
    assert _post_login(client, "admin", PASSWORD, **admin_ip).status_code == 303
    attacker = TestClient(app, client=("127.0.0.1", 2))
    statuses = [_post_login(attacker, "admin", "guess-pass-000",
                            **{"X-Forwarded-For": f"198.51.100.{i % 6}"}).status_code
                for i in range(30)]
    assert statuses[-1] == 429
    # a new address is refused while the account is under attack …
    stranger = TestClient(app, client=("127.0.0.1", 3))
    assert _post_login(stranger, "admin", PASSWORD,
                       **{"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    # … the administrator's known address is not
    again = TestClient(app, client=("127.0.0.1", 4))
    assert _post_login(again, "admin", PASSWORD, **admin_ip).status_code == 303


def test_password_change_revokes_other_sessions_and_checks_the_policy(client, engine):
    other = TestClient(client.app)
    login(other, "ent1")
    csrf = login(client, "ent1")
    r = client.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD,
                                               "new": "short", "confirm": "short"})
    assert r.status_code == 422 and "至少12位" in r.text
    r = client.post("/account/password", data={"csrf_token": csrf, "current": "nope-nope-99",
                                               "new": "a-much-better-pass", "confirm":
                                               "a-much-better-pass"})
    assert r.status_code == 422 and "当前密码不正确" in r.text
    r = client.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD,
                                               "new": "a-much-better-pass", "confirm":
                                               "a-much-better-pass"}, follow_redirects=False)
    assert r.status_code == 303
    assert "其他设备上的 1 个会话已注销" in client.get(r.headers["location"]).text
    assert other.get("/api/v1/me").json()["role"] == "public"
    assert client.get("/api/v1/me").json()["role"] == "enterprise"
    assert _post_login(TestClient(client.app), "ent1", "a-much-better-pass").status_code == 303
    assert "password.changed" in _kinds(engine, "ent1")


def test_admin_reset_revokes_sessions_and_is_scoped(client, engine):
    staff = TestClient(client.app)
    login(staff, "staff")
    with unit_of_work(engine) as s:
        sid = s.scalar(select(User.id).where(User.username == "staff"))
    outsider = TestClient(client.app)
    csrf_other = login(outsider, "other_admin")
    r = outsider.post(f"/users/{sid}/reset-password", data={
        "csrf_token": csrf_other, "password": "reset-by-stranger"})
    assert r.status_code == 404
    csrf = login(client, "admin")
    r = client.post(f"/users/{sid}/reset-password", data={"csrf_token": csrf,
                                                           "password": "aaaaaaaaaaaaaaa"})
    assert r.status_code == 422 and "重复" in r.text
    r = client.post(f"/users/{sid}/reset-password", data={
        "csrf_token": csrf, "password": "fresh-start-2026"}, follow_redirects=False)
    assert r.status_code == 303
    assert staff.get("/api/v1/me").json()["role"] == "public"
    assert _post_login(TestClient(client.app), "staff", PASSWORD).status_code == 422
    assert _post_login(TestClient(client.app), "staff", "fresh-start-2026").status_code == 303
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LoginSession)
                        .where(LoginSession.user_id == sid,
                               LoginSession.revoked_at.is_(None))) == 1


def _secret(html: str) -> str:
    m = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', html)
    assert m, html[-1500:]
    return m.group(1)


def test_required_totp_enrols_the_administrator_at_login(app_with, engine):
    app = app_with(totp_required_for_admins=True)
    assert get_settings().totp_required_for_admins
    client = TestClient(app)
    r = _post_login(client, "admin", PASSWORD)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/totp")
    assert client.get("/api/v1/me").json()["role"] == "public"  # no session yet
    page = client.get("/login/totp")
    secret = _secret(page.text)
    assert "otpauth://totp/" in page.text
    csrf = page_csrf(page.text)
    r = client.post("/login/totp", data={"csrf_token": csrf, "code": "000000"})
    assert r.status_code == 422 and "动态口令不正确" in r.text
    r = client.post("/login/totp", data={"csrf_token": csrf, "code": totp.code_at(secret)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").json()["role"] == "bureau_admin"
    # the next login asks for a code; the same code cannot be replayed
    second = TestClient(app)
    assert _post_login(second, "admin", PASSWORD).headers["location"].startswith("/login/totp")
    page = second.get("/login/totp")
    assert 'data-testid="totp-secret"' not in page.text
    r = second.post("/login/totp", data={"csrf_token": page_csrf(page.text),
                                         "code": totp.code_at(secret)})
    assert r.status_code == 422
    # staff are not asked (the setting is about administrators)
    assert _post_login(TestClient(app), "staff", PASSWORD).headers["location"] == "/"
    kinds = _kinds(engine, "admin")
    assert "login.totp_failed" in kinds and kinds.count("login.ok") == 1


def test_without_the_setting_the_demo_admin_logs_in_with_a_password(client):
    assert _post_login(client, "admin", PASSWORD).headers["location"] == "/"


def test_any_user_may_enrol_a_second_factor_from_the_account_page(client, engine):
    csrf = login(client, "ent1")
    page = client.post("/account/totp/start", data={"csrf_token": csrf})
    secret = _secret(page.text)
    r = client.post("/account/totp/confirm", data={"csrf_token": csrf,
                                                   "code": totp.code_at(secret)},
                    follow_redirects=False)
    assert r.status_code == 303
    with unit_of_work(engine) as s:
        assert s.scalar(select(TotpCredential.enabled_at)) is not None
    r = _post_login(TestClient(client.app), "ent1", PASSWORD)
    assert r.headers["location"].startswith("/login/totp")
    r = client.post("/account/totp/disable", data={"csrf_token": csrf, "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    assert _post_login(TestClient(client.app), "ent1", PASSWORD).headers["location"] == "/"


def test_concurrent_enrolment_starts_never_500(client):
    """Found by bench/load.py: two concurrent starts of one account raced on the insert."""
    csrf = login(client, "ent1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: client.post(
            "/account/totp/start", data={"csrf_token": csrf}).status_code, range(16)))
    assert set(statuses) <= {200, 409, 503}, statuses
    assert 200 in statuses
