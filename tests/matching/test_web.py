"""Pages and JSON API of the matching registries through the real app."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.matching import service
from kechuang.models.matching import Cooperation, TechDemand
from tests.matching.helpers import achievement_data, actor, demand_data
from tests.support.jobs import finish_job


def seed_records(engine):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        ent1 = actor(s, "ent1")
        pub = service.do_create_demand(s, ent1, demand_data(title="公开的散热需求"))
        hid = service.do_create_demand(s, ent1, demand_data(title="内部的工艺需求",
                                                            visibility="bureau_only"))
        ach = service.do_create_achievement(s, actor(s, "inst"), achievement_data())
        return pub.id, hid.id, ach.id


def test_public_sees_public_demands_only(client, engine):
    pub, hid, _ = seed_records(engine)
    page = client.get("/matching/demands").text
    assert "公开的散热需求" in page and "内部的工艺需求" not in page
    assert client.get(f"/matching/demands/{pub}").status_code == 200
    assert client.get(f"/matching/demands/{hid}").status_code == 404
    titles = [d["title"] for d in client.get("/api/v1/matching/demands").json()]
    assert titles == ["公开的散热需求"]


def test_enterprise_posts_a_demand_then_sees_explained_matches_and_marks_one(
        client, login_as, engine):
    _, _, ach = seed_records(engine)
    csrf = login_as("ent1")
    r = client.post("/matching/demands", data={
        "csrf_token": csrf, "title": "功率芯片封装导热", "description": "陶瓷基板导热不足",
        "budget_min": "10", "budget_max": "30", "visibility": "public"}, follow_redirects=False)
    assert r.status_code == 303
    demand_id = int(r.headers["location"].rsplit("/", 1)[1])
    detail = client.get(f"/matching/demands/{demand_id}").text
    assert f'hx-get="/matching/demands/{demand_id}/matches"' in detail
    part = client.get(f"/matching/demands/{demand_id}/matches").text
    assert f'data-achievement="{ach}"' in part
    row = part.split(f'data-achievement="{ach}"')[1].split("</tr>")[0]
    assert "命中词" in row and "命中字段" in row and "标题" in row
    r = client.post(f"/matching/demands/{demand_id}/marks", data={
        "csrf_token": csrf, "supply_kind": "achievement", "supply_id": str(ach),
        "status": "agreed"}, follow_redirects=False)
    assert r.status_code == 303
    with unit_of_work(engine) as s:
        assert s.get(TechDemand, demand_id).status == "in_cooperation"
        coop = s.scalar(select(Cooperation).where(Cooperation.demand_id == demand_id))
        assert coop is not None
    page = client.get("/matching/cooperations").text
    assert f'data-cooperation="{coop.id}"' in page
    r = client.post(f"/matching/cooperations/{coop.id}/next-step", data={
        "csrf_token": csrf, "step": "pre_research", "ref": "YY-1"}, follow_redirects=False)
    assert r.status_code == 303
    with unit_of_work(engine) as s:
        assert s.get(Cooperation, coop.id).next_step == "pre_research"


def test_bad_form_input_shows_a_chinese_message(client, login_as):
    csrf = login_as("ent1")
    r = client.post("/matching/demands", data={"csrf_token": csrf, "title": "x",
                                               "budget_min": "9", "budget_max": "1"})
    assert r.status_code == 422 and "预算范围：下限 9 大于上限 1" in r.text


def test_achievement_catalogue_search_explains_and_credits_chinaxiv(client, engine):
    _, _, ach = seed_records(engine)
    page = client.get("/matching/achievements?q=氮化铝陶瓷").text
    assert f'data-achievement="{ach}"' in page and "命中词" in page
    assert "ChinaXiv" in page and "CC BY 4.0" in page
    empty = client.get("/matching/achievements?q=！！！")
    assert empty.status_code == 422 and "检索内容为空" in empty.text


def test_api_money_is_exact_text_and_matches_are_json(client, login_as, engine):
    pub, _, ach = seed_records(engine)
    csrf = login_as("ent1")
    r = client.post("/api/v1/matching/demands", json={
        "title": "导热硅脂", "budget_min": "0.000001", "budget_max": "12345678.5"},
        headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "超过上限" in r.json()["message"]
    r = client.post("/api/v1/matching/demands", json={
        "title": "导热硅脂", "budget_min": "0.000001", "budget_max": "1234567.5"},
        headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert (r.json()["budget_min"], r.json()["budget_max"]) == ("0.000001", "1234567.5")
    m = client.get(f"/api/v1/matching/demands/{pub}/matches").json()
    assert m["achievements"][0]["id"] == ach and m["achievements"][0]["matched_terms"]


def test_bureau_hub_chart_synonyms_and_rebuild(client, login_as, engine):
    seed_records(engine)
    csrf = login_as("staff")
    hub = client.get("/matching").text
    assert 'src="/static/matching-hub.js"' in hub
    data = json.loads(re.search(r'data-chart-data="([^"]+)"', hub).group(1)
                      .replace("&#34;", '"').replace("&quot;", '"'))
    assert dict(zip(data["status"]["labels"], data["status"]["values"], strict=True))[
        "征集中"] == 2
    assert client.get("/static/matching-hub.js").status_code == 200
    r = client.post("/matching/synonyms", data={"csrf_token": csrf, "line": "导热，散热"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "导热：散热" in client.get("/matching/synonyms").text
    r = client.post("/matching/index/rebuild", data={"csrf_token": csrf},
                    follow_redirects=False)
    result = finish_job(client, engine, r)  # rebuilt in a job, not in the request
    assert result["counts"] == {"achievement": 1, "demand": 1, "expert": 1}
    assert "索引已重建：成果 1，需求 1，专家 1" in client.get(result["url"]).text
