"""The audit log page: scope, filters by action, user and local date range, readable
before/after."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from kechuang.db import unit_of_work
from kechuang.models import AuditEvent

ROW_RE = re.compile(r'<tr data-action="([\w.]+)">')


def actions(client, query: str = "") -> list[str]:
    r = client.get("/audit" + (f"?{query}" if query else ""))
    assert r.status_code == 200, r.text
    return ROW_RE.findall(r.text)


def test_only_bureau_admins_read_the_audit_log(client, login_as):
    for who in ("staff", "ent1", "tax", "bank"):
        client.cookies.clear()
        login_as(who)
        assert client.get("/audit").status_code == 403


def test_admin_sees_events_of_the_region_only(client, login_as):
    login_as("admin")
    page = client.get("/audit?action=user.create").text
    # the seed created seven accounts in 张家港 and one (other_admin) in 常熟
    assert len(ROW_RE.findall(page)) == 7
    assert "other_admin" not in page.split('data-testid="audit-table"')[1]
    client.cookies.clear()
    login_as("other_admin")
    page = client.get("/audit?action=user.create").text
    assert len(ROW_RE.findall(page)) == 1 and "other_admin" in page


def test_events_of_the_region_s_users_are_in_scope_even_without_a_region(client, login_as,
                                                                         engine):
    login_as("admin")
    with unit_of_work(engine) as s:
        from sqlalchemy import select

        from kechuang.models import User

        staff_id = s.scalar(select(User.id).where(User.username == "staff"))
        other_id = s.scalar(select(User.id).where(User.username == "other_admin"))
        s.add(AuditEvent(actor_id=staff_id, actor="staff", action="test.regionless",
                         object_type="thing"))
        s.add(AuditEvent(actor_id=other_id, actor="other_admin", action="test.regionless",
                         object_type="thing"))
    page = client.get("/audit?action=test.regionless").text
    assert len(ROW_RE.findall(page)) == 1 and ">staff<" in page


def test_filter_by_user_and_action(client, login_as):
    login_as("staff")
    client.cookies.clear()
    login_as("admin")
    assert set(actions(client, "user=staff")) == {"session.login"}
    assert actions(client, "user=admin&action=session.login") == ["session.login"]
    assert actions(client, "user=nobody") == []
    page = client.get("/audit").text
    assert 'value="user.create"' in page  # the action select lists what happened


def test_date_range_is_in_beijing_time(client, login_as, engine):
    # 16:30 UTC on 1 January is 00:30 on 2 January in Asia/Shanghai
    with unit_of_work(engine) as s:
        s.add(AuditEvent(at=datetime(2024, 1, 1, 16, 30, tzinfo=UTC), actor="cli:root",
                         action="test.midnight", object_type="thing", region_code="320582"))
    login_as("admin")
    q = "action=test.midnight"
    assert actions(client, f"{q}&date_from=2024-01-02&date_to=2024-01-02") == ["test.midnight"]
    assert actions(client, f"{q}&date_to=2024-01-01") == []
    assert actions(client, f"{q}&date_from=2024-01-03") == []
    assert actions(client, f"{q}&date_from=&date_to=") == ["test.midnight"]
    page = client.get(f"/audit?{q}").text
    assert "2024-01-02 00:30:00" in page
    bad = client.get("/audit?date_from=2024-02-01&date_to=2024-01-01")
    assert bad.status_code == 422 and "起始日期晚于截止日期" in bad.text


def test_before_and_after_are_shown_readably(client, login_as, engine):
    with unit_of_work(engine) as s:
        s.add(AuditEvent(actor="cli:root", action="test.change", object_type="user",
                         object_id="7", region_code="320582",
                         before={"is_active": True, "role": "bureau_staff"},
                         after={"is_active": False, "role": "bureau_staff", "note": "离职"}))
    login_as("admin")
    page = client.get("/audit?action=test.change").text
    row = page.split('<tr data-action="test.change">')[1].split("</tr>")[0]
    assert '<dt>is_active</dt><dd><span class="old">true</span> → <span class="new">false</span>' \
        in row
    assert '<dt>role</dt><dd><span class="new">bureau_staff</span>' in row  # unchanged
    assert '<dt>note</dt><dd><span class="new">离职</span>' in row


def test_pagination_keeps_filters(client, login_as, engine):
    with unit_of_work(engine) as s:
        for i in range(60):
            s.add(AuditEvent(actor="cli:root", action="test.bulk", object_type="thing",
                             object_id=str(i), region_code="320582100"))
    login_as("admin")
    first = client.get("/audit?action=test.bulk").text
    assert len(ROW_RE.findall(first)) == 50 and "共 60 条记录" in first
    link = re.search(r'<a href="(/audit\?[^"]+)"[^>]*rel="next"', first).group(1)
    second = client.get(link.replace("&amp;", "&")).text
    assert ROW_RE.findall(second) == ["test.bulk"] * 10
