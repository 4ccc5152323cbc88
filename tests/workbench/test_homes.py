"""Role homes (issue 11, item 7): the bureau workbench and every other role's next steps."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kechuang.web.deps import LANG_COOKIE
from kechuang.workbench.service import points_chart
from tests.conftest import login

SECTIONS = ("wb-tiers", "wb-points", "wb-runs", "wb-push", "wb-alerts", "wb-jobs")


@pytest.mark.parametrize("account", ["admin", "staff"])
def test_a_bureau_account_lands_on_the_workbench(app, account):
    client = TestClient(app)
    login(client, account)
    html = client.get("/").text
    assert 'data-testid="workbench"' in html
    for section in SECTIONS:
        assert f'data-testid="{section}"' in html, section
    assert 'data-testid="push-review-hook"' in html  # the partial the push review fills
    assert 'data-testid="count-enterprises"' in html


def test_the_workbench_reads_in_english(app):
    client = TestClient(app)
    login(client, "admin")
    client.cookies.set(LANG_COOKIE, "en")
    html = client.get("/").text
    assert "Enterprises by tier" in html and "Latest scoring runs" in html
    assert "企业梯队" not in html


@pytest.mark.parametrize(("account", "expected"), [
    ("ent1", ["/enterprises/me", "/push/inbox"]),
    ("inst", ["/vouchers/redeem", "/matching"]),
    ("expert", ["/review/my"]),
    ("bank", ["/finance/bank"]),
    ("tax", ["/imports"]),
])
def test_every_other_role_sees_what_it_can_do_next(app, account, expected):
    client = TestClient(app)
    login(client, account)
    html = client.get("/").text
    assert 'data-testid="workbench"' not in html
    steps = html.split('data-testid="next-steps"')[1].split("</section>")[0]
    for href in expected:
        assert f'href="{href}"' in steps, (account, href)
    assert 'href="/audit"' not in steps and 'href="/scoring"' not in steps
    assert "<li>" in steps and " — " in steps  # each with a line saying what it is for


def test_a_visitor_is_welcomed_with_the_public_pages(client: TestClient):
    html = client.get("/").text
    assert 'href="/login"' in html
    steps = html.split('data-testid="next-steps"')[1].split("</section>")[0]
    assert 'href="/lists"' in steps and 'href="/enterprises"' not in steps


def test_the_points_chart_adds_the_stages_per_band():
    option = points_chart([("a", 1, 3), ("b", 1, 2), ("a", 3, 1)], "en")
    assert option is not None
    assert option["xAxis"]["data"] == ["10–20", "20–30", "30–40"]
    assert option["series"][0]["data"] == [5, 0, 1]
    assert points_chart([], "zh") is None
