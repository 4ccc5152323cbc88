"""Pages and API of expert review: the bureau's round page and decision, the expert's own
assignments (audited read, review form), both languages."""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select

from kechuang.db import unit_of_work
from kechuang.models import AuditEvent
from kechuang.models.review import ReviewScore
from tests.security.routes_review import samples

CJK = re.compile(r"[\u4e00-\u9fff]")


def _sample(engine: Engine) -> dict[str, str]:
    with unit_of_work(engine) as s:
        return samples(s)


def test_expert_reviews_own_assignment_through_the_page(engine: Engine, client, login_as) -> None:  # type: ignore[no-untyped-def]
    ids = _sample(engine)
    token = login_as("expert")
    page = client.get("/review/my")
    assert page.status_code == 200 and "测试申请" in page.text
    page = client.get(f"/review/assignments/{ids['assignment_id']}")
    assert page.status_code == 200 and 'name="score_innovation"' in page.text
    r = client.post(f"/review/assignments/{ids['assignment_id']}/review",
                    data={"csrf_token": token, "score_innovation": "80", "score_feasibility": "80",
                          "score_benefit": "80", "score_team": "80", "comment": "好"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReviewScore)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "review.application_read")) == 1
    api = client.get("/api/v1/review/my/assignments")
    assert api.status_code == 200 and api.json()[0]["reviewed"] is True


def test_bureau_round_page_ranks_and_decides(engine: Engine, client, login_as, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kechuang.kit import events  # noqa: PLC0415

    events._load()
    monkeypatch.setitem(events._handlers, "review.decision_recorded", [])
    ids = _sample(engine)
    with unit_of_work(engine) as s:
        s.add(ReviewScore(assignment_id=int(ids["assignment_id"]), scores={}, total=70,
                          comment=""))
    token = login_as("admin")
    page = client.get(f"/review/rounds/{ids['round_id']}")
    assert page.status_code == 200
    assert 'data-testid="ranking"' in page.text and "王工" not in page.text  # anonymous
    ranking = client.get(f"/api/v1/review/rounds/{ids['round_id']}/ranking").json()
    assert ranking["ranked"][0]["funded"] is True and "expert" not in str(ranking)
    r = client.post(f"/review/rounds/{ids['round_id']}/decision", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/api/v1/review/rounds/{ids['round_id']}/ranking").json()["decided"]
    client.cookies.set("kc_lang", "en")
    page = client.get(f"/review/rounds/{ids['round_id']}")
    body = page.text.split("<main", 1)[-1]
    body = body.replace("测试申请", "").replace("矩阵测试", "")
    assert not CJK.search(re.sub(r"<[^>]+>", "", body)), CJK.findall(body)[:10]
    assert client.get("/review").status_code == 200


def test_expert_maintains_own_profile(engine: Engine, client, login_as) -> None:  # type: ignore[no-untyped-def]
    from kechuang.models.review import ReviewExpertProfile  # noqa: PLC0415

    token = login_as("expert")
    body = {"keywords": ["集成电路"], "affiliation": "东南大学", "load_cap": 4,
            "collaborations": [{"name": "张家港华芯微电子有限公司", "year": 2025}]}
    r = client.put("/api/v1/review/my/profile", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    r = client.put("/api/v1/review/my/profile", json={**body, "load_cap": -1},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    with unit_of_work(engine) as s:
        p = s.scalars(select(ReviewExpertProfile)).one()
        assert p.load_cap == 4 and p.collaborations[0]["year"] == 2025


def test_expert_maintains_own_profile_through_the_page(engine: Engine, client, login_as) -> None:  # type: ignore[no-untyped-def]
    from kechuang.models import Expert
    from kechuang.models.review import ReviewExpertProfile

    token = login_as("expert")
    page = client.get("/review/profile")
    assert page.status_code == 200 and 'data-testid="profile-form"' in page.text
    r = client.post("/review/profile", data={
        "csrf_token": token, "keywords": "集成电路，封装 散热", "discipline_codes": "510.30",
        "affiliation": "苏州大学",
        "collaborations": "张家港某某科技有限公司，2024\n\n江南大学, 2022",
        "available": "true", "load_cap": "6"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review/profile?saved=1"
    with unit_of_work(engine) as s:
        expert_id = s.scalar(select(Expert.id).where(Expert.code == "EXP-1"))
        row = s.get(ReviewExpertProfile, expert_id)
        assert row is not None and row.keywords == ["集成电路", "封装", "散热"]
        assert row.collaborations == [{"name": "张家港某某科技有限公司", "year": 2024},
                                      {"name": "江南大学", "year": 2022}]
        assert row.load_cap == 6 and row.available is True
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "review.profile_updated")) == 1
    page = client.get("/review/profile?saved=1").text
    assert 'data-testid="saved"' in page and "江南大学，2022" in page
    # a bad line is named, in Chinese, and nothing changes
    r = client.post("/review/profile", data={
        "csrf_token": token, "keywords": "x", "collaborations": "苏州大学，2024\n没有年份",
        "load_cap": "6"})
    assert r.status_code == 422 and "合作记录第 2 行" in r.text
    r = client.post("/review/profile", data={"csrf_token": token, "load_cap": "-1"})
    assert r.status_code == 422 and "每轮评审上限" in r.text
    with unit_of_work(engine) as s:
        assert s.get(ReviewExpertProfile, expert_id).keywords == ["集成电路", "封装", "散热"]
    client.get("/lang/en")
    english = client.get("/review/profile").text
    body = english.split("<main", 1)[-1]
    labels = re.sub(r'value="[^"]*"|<textarea[^>]*>[^<]*</textarea>', "", body)
    assert not CJK.search(re.sub(r"<[^>]+>", " ", labels).replace("江南大学", ""))
