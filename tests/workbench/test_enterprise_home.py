"""An enterprise manager's home: its points and place in the latest published run, the
policies it qualifies for, and its newest messages — or plain words when there is none."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from kechuang.db import unit_of_work
from kechuang.policy.service import do_run_policies
from kechuang.web.deps import LANG_COOKIE
from tests.ingest.helpers import user_actor
from tests.profile.conftest import County, county  # noqa: F401  (the fixture)


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</section>")[0]


def test_the_enterprise_sees_its_points_policies_and_messages(
        county: County, client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with unit_of_work(county.engine) as s:
        do_run_policies(s, user_actor(county.engine, "staff"), None, as_of=date(2025, 6, 30))
    login_as("ent1")
    html = client.get("/").text
    points = _section(html, "eh-points")
    assert "积分" in points and "2024 年度第" in points and "较上一年度" in points
    policies = _section(html, "eh-policies")
    assert "（2024 年度数据）" in policies or "暂无符合条件" in policies
    assert 'href="/enterprises/me#policy-section"' in policies
    assert 'href="/push/inbox"' in _section(html, "eh-messages")
    client.cookies.set(LANG_COOKIE, "en")
    english = client.get("/").text
    assert "My innovation points" in english and "Rank " in english
    assert "我的创新积分" not in english
    assert "（示例政策）" not in _section(english, "eh-policies")  # the policies' English names


def test_without_runs_the_enterprise_is_told_so(
        client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as("ent1")
    html = client.get("/").text
    assert "科技局尚未发布积分测算结果" in _section(html, "eh-points")
    assert "科技局尚未进行政策测算" in _section(html, "eh-policies")
    assert "暂无消息" in _section(html, "eh-messages")


def test_other_roles_have_no_enterprise_summary(client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as("expert")
    assert 'data-testid="enterprise-home"' not in client.get("/").text
