"""Accounts: the list of the region, creation with errors in the form, revoking sessions and
deactivation — each with its audit row."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.models import AuditEvent, LoginSession, User
from tests.conftest import login
from tests.support.seed import uscc


def user_id(engine, username: str) -> int:
    with unit_of_work(engine) as s:
        uid = s.scalar(select(User.id).where(User.username == username))
    assert uid is not None
    return uid


def audit_rows(engine, action: str) -> list[AuditEvent]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)))


def test_list_shows_the_accounts_of_the_region(client, login_as):
    login_as("admin")
    page = client.get("/users").text
    for name in ("admin", "staff", "tax", "ent1", "inst", "expert", "bank"):
        assert f'data-username="{name}"' in page
    assert 'data-username="other_admin"' not in page
    client.cookies.clear()
    login_as("staff")
    assert client.get("/users").status_code == 403


def test_create_an_account_writes_an_audit_row(client, login_as, engine):
    csrf = login_as("admin")
    r = client.post("/users", data={
        "csrf_token": csrf, "username": "zhang.wei", "display_name": "张伟",
        "password": "good-pass-123", "role": "enterprise", "region_code": "320582401",
        "enterprise_uscc": uscc(2).lower()}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "已创建账号：zhang.wei" in page and 'data-username="zhang.wei"' in page
    (row,) = [a for a in audit_rows(engine, "user.create") if a.after["username"] == "zhang.wei"]
    assert row.actor == "admin" and row.region_code == "320582401"
    # the new account works and sees its own enterprise
    other = TestClient(client.app)
    login(other, "zhang.wei", "good-pass-123")
    assert other.get("/enterprises/me", follow_redirects=False).headers["location"] \
        == f"/enterprises/{uscc(2)}"


def test_creation_errors_are_shown_in_the_form_and_nothing_is_written(client, login_as, engine):
    csrf = login_as("admin")
    base = {"csrf_token": csrf, "username": "li.na", "display_name": "李娜",
            "password": "good-pass-123", "role": "bureau_staff", "region_code": "320582"}
    cases = [
        ({"password": "short-pass1"}, "密码至少12位"),
        ({"password": "aaaaaaaaaaaaaa"}, "同一字符"),
        ({"password": "password123456"}, "过于常见"),
        ({"username": "staff"}, "用户名已存在：staff"),
        ({"region_code": "320581"}, "不能在本辖区之外创建账号"),
        ({"role": "enterprise"}, "需要指定 enterprise_id"),
        ({"role": "enterprise", "enterprise_uscc": uscc(5, "320581")}, "不存在或不在您的辖区内"),
        ({"role": "bureau_staff", "bank_id": "1"}, "不应关联 bank_id"),
        ({"role": "wizard"}, "未知角色：wizard"),
    ]
    for change, message in cases:
        r = client.post("/users", data={**base, **change})
        assert r.status_code in (403, 409, 422), change
        assert message in r.text, (change, r.text[-2000:])
        assert 'data-testid="form-error"' in r.text
        assert 'value="李娜"' in r.text  # the form keeps what was typed
        assert "good-pass-123" not in r.text  # … except the password
    with unit_of_work(engine) as s:
        assert s.scalar(select(User.id).where(User.username == "li.na")) is None


def test_post_without_csrf_is_refused(client, login_as):
    login_as("admin")
    r = client.post("/users", data={"username": "x", "password": "good-pass-123",
                                    "role": "bureau_staff", "region_code": "320582"})
    assert r.status_code == 403


def test_revoke_sessions_logs_the_user_out(client, login_as, engine):
    staff = TestClient(client.app)
    login(staff, "staff")
    assert staff.get("/api/v1/me").json()["role"] == "bureau_staff"
    csrf = login_as("admin")
    sid = user_id(engine, "staff")
    r = client.post(f"/users/{sid}/revoke-sessions", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "已注销 staff 的 1 个会话" in client.get(r.headers["location"]).text
    assert staff.get("/api/v1/me").json()["role"] == "public"
    (row,) = audit_rows(engine, "session.revoke_all")
    assert row.object_id == str(sid) and row.actor == "admin"


def test_deactivation_stops_the_account_at_once(client, login_as, engine):
    staff = TestClient(client.app)
    login(staff, "staff")
    csrf = login_as("admin")
    sid = user_id(engine, "staff")
    r = client.post(f"/users/{sid}/deactivate", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert staff.get("/api/v1/me").json()["role"] == "public"
    again = TestClient(client.app)
    token = again.get("/login").text.split('name="csrf-token" content="')[1].split('"')[0]
    r = again.post("/login", data={"username": "staff", "password": "test-pass-123",
                                   "csrf_token": token})
    assert r.status_code == 422
    (row,) = audit_rows(engine, "user.deactivate")
    assert row.before == {"username": "staff", "is_active": True}
    assert row.after == {"username": "staff", "is_active": False, "sessions_revoked": 1}
    assert row.region_code == "320582"
    with unit_of_work(engine) as s:
        assert s.scalar(select(LoginSession.revoked_at).where(LoginSession.user_id == sid))
    page = client.get("/users").text
    row_html = page.split('data-username="staff"')[1].split("</tr>")[0]
    assert "已停用" in row_html and 'data-testid="activate"' in row_html
    # reactivation: a fresh login works again, the old session stays dead
    r = client.post(f"/users/{sid}/activate", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert staff.get("/api/v1/me").json()["role"] == "public"
    login(TestClient(client.app), "staff")
    assert len(audit_rows(engine, "user.activate")) == 1


def test_accounts_outside_the_region_are_not_found(client, login_as, engine):
    csrf = login_as("other_admin")
    sid = user_id(engine, "staff")
    for action in ("deactivate", "revoke-sessions", "activate"):
        r = client.post(f"/users/{sid}/{action}", data={"csrf_token": csrf})
        assert r.status_code == 404, action
    assert audit_rows(engine, "user.deactivate") == []
    assert audit_rows(engine, "session.revoke_all") == []


def test_an_admin_cannot_deactivate_themself(client, login_as, engine):
    csrf = login_as("admin")
    r = client.post(f"/users/{user_id(engine, 'admin')}/deactivate", data={"csrf_token": csrf})
    assert r.status_code == 422 and "不能停用自己的账号" in r.text


def test_staff_cannot_manage_accounts(client, login_as, engine):
    csrf = login_as("staff")
    r = client.post(f"/users/{user_id(engine, 'tax')}/deactivate", data={"csrf_token": csrf})
    assert r.status_code == 403
