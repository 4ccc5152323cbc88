"""The programs pages and API through the real app: both languages, the bid form with
files, the bureau's decision and payment forms, errors that name the field."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.models.programs import ProgramApplication, ProgramPayment
from kechuang.programs import service
from tests.conftest import login
from tests.programs.helpers import PDF, PNG, actor, make_call, make_program

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def call_id(engine):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        pid = make_program(s)
        cid = make_call(s, pid)
        service.do_call_action(s, actor(s, "staff"), cid, "open")
    return cid


def bid(client: TestClient, csrf: str, call_id: int, pdf: bytes = PDF, amount: str = "800000"):
    return client.post(f"/programs/calls/{call_id}/apply", data={
        "csrf_token": csrf, "title": "网页揭榜方案", "plan": "路线", "requested_amount": amount,
        "members": "institute|江苏科技大学"},
        files={"proposal": ("方案.pdf", pdf, "application/pdf")}, follow_redirects=False)


def test_bid_through_the_form_then_decide_and_pay_through_the_pages(client, engine, call_id):
    csrf = login(client, "ent1")
    page = client.get(f"/programs/calls/{call_id}")
    assert page.status_code == 200 and 'data-testid="apply-form"' in page.text
    r = bid(client, csrf, call_id, pdf=PNG)
    assert r.status_code == 422 and "附件“揭榜方案书”（proposal）" in r.text and "PNG" in r.text
    r = bid(client, csrf, call_id, amount="-1")
    assert r.status_code == 422 and "requested_amount" in r.text
    r = bid(client, csrf, call_id)
    assert r.status_code == 303
    app_url = r.headers["location"]
    detail = client.get(app_url)
    assert "网页揭榜方案" in detail.text and "江苏科技大学" in detail.text
    att = re.search(r'href="(/programs/attachments/\d+)"', detail.text).group(1)
    f = client.get(att)
    assert f.content == PDF and f.headers["content-type"] == "application/pdf"
    assert bid(client, csrf, call_id).status_code == 409  # double submission
    mine = client.get("/programs/mine")
    assert "网页揭榜方案" in mine.text
    # the bureau closes after the deadline, checks, reviews and decides on the page
    app_id = int(app_url.rsplit("/", 1)[1])
    with unit_of_work(engine) as s:
        closes = service.get_call(s, actor(s, "staff"), call_id).closes_at
        service.do_call_action(s, actor(s, "staff"), call_id, "close",
                               at=closes + timedelta(seconds=1))
        service.do_application_action(s, actor(s, "staff"), app_id, "check_pass")
        service.do_call_action(s, actor(s, "staff"), call_id, "request_review",
                               at=closes + timedelta(seconds=1))
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "staff")
    page = client.get(f"/programs/calls/{call_id}")
    assert 'data-testid="decision-form"' in page.text
    r = client.post(f"/programs/calls/{call_id}/decision", data={
        "csrf_token": csrf, "winner": str(app_id), f"amount_{app_id}": "600000"},
        follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/programs/applications/{app_id}/pay", data={
        "csrf_token": csrf, "what": "tranche", "tranche": "1", "amount": "600000.01"})
    assert r.status_code == 422 and "金额（amount）" in r.text
    r = client.post(f"/programs/applications/{app_id}/pay", data={
        "csrf_token": csrf, "what": "tranche", "tranche": "1"}, follow_redirects=False)
    assert r.status_code == 303
    with unit_of_work(engine) as s:
        pay = s.scalar(select(ProgramPayment).where(ProgramPayment.application_id == app_id))
        assert pay.amount == 180000 and s.get(ProgramApplication, app_id).state == "funded"
    assert "180,000" in client.get("/programs/payments").text
    public = TestClient(client.app)
    assert "网页揭榜方案" not in public.get("/challenges").text  # bids stay private
    assert public.get(f"/programs/applications/{app_id}", follow_redirects=False).status_code in (
        303, 401)


def test_refused_transition_through_the_api_names_state_and_allowed_actions(client, call_id):
    csrf = login(client, "staff")
    r = client.post(f"/api/v1/programs/calls/{call_id}/actions", json={"action": "finish"},
                    headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert r.status_code == 409
    assert "揭榜中" in r.json()["message"] and "截止揭榜" in r.json()["message"]
    r = client.post(f"/api/v1/programs/calls/{call_id}/actions", json={"action": "close"},
                    headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert r.status_code == 409 and "尚未到截止时间" in r.json()["message"]
    client.get("/lang/en")
    r = client.post(f"/api/v1/programs/calls/{call_id}/actions", json={"action": "finish"},
                    headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert "Open for bids" in r.json()["message"]


def test_api_shapes(client, call_id):
    public = client.get("/api/v1/programs/challenges").json()
    assert [c["id"] for c in public["open"]] == [call_id]
    assert public["open"][0]["budget_cap"] in ("1000000", 1000000, "1000000.0")
    assert public["winners"] == []
    stats = client.get("/api/v1/programs/pre-research/stats").json()
    assert stats[-1]["year"] is None and stats[-1]["applications"] == 0
    login(client, "staff")
    progs = client.get("/api/v1/programs").json()
    assert progs[0]["budget_key"] == "program:T-JB-2026:2026"


PAGES = {
    "staff": ["/programs", "/programs/calls/{call}", "/programs/payments", "/programs/types",
              "/programs/pre-research"],
    "ent1": ["/programs/mine", "/programs/calls/{call}"],
    "inst": ["/programs/mine"],
}


@pytest.mark.parametrize("who", sorted(PAGES))
def test_pages_render_in_both_languages(client, call_id, who):
    login(client, who)
    for lang in ("zh", "en"):
        client.get(f"/lang/{lang}")
        for path in PAGES[who]:
            r = client.get(path.format(call=call_id))
            assert r.status_code == 200, (path, r.status_code)
            nav_free = re.sub(r"(?s)<nav.*?</nav>", "", r.text)
            labels = re.findall(r"<(?:th|h1|h2|dt|button|label)[^>]*>([^<]*)<", nav_free)
            labels = [x for x in labels if x.strip()]
            if lang == "en":
                chinese = [x for x in labels if CJK.search(x)]
                # data values aside (the call's title is data)
                assert all("固态电解质" in x or "测试项目" in x for x in chinese), (path, chinese)
            else:
                assert any(CJK.search(x) for x in labels), path


def test_public_challenge_page_lists_open_items(client, call_id):
    r = client.get("/challenges")
    assert r.status_code == 200 and "高安全固态电解质攻关" in r.text
    assert "离子电导率" in r.text
    r = client.get(f"/programs/calls/{call_id}")
    assert r.status_code == 200 and 'data-testid="apply-form"' not in r.text


def test_bureau_only_and_draft_calls_stay_hidden(client, engine):
    with unit_of_work(engine) as s:
        pid = make_program(s)
        draft = make_call(s, pid, code="T-JB-DRAFT")
        hidden = make_call(s, pid, code="T-JB-HIDDEN", visibility="bureau")
        service.do_call_action(s, actor(s, "staff"), hidden, "open")
    for cid in (draft, hidden):
        assert client.get(f"/programs/calls/{cid}").status_code == 404
    login(client, "staff")
    assert client.get(f"/programs/calls/{draft}").status_code == 200
