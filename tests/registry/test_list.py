"""The enterprise list: search, each filter, pagination, HTMX partials and region scope."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import insert

from kechuang.db import unit_of_work
from kechuang.models import Enterprise
from tests.support.seed import HOME_PARK, HOME_TOWN, OTHER_TOWN, uscc

ROW_RE = re.compile(r'<tr data-uscc="([0-9A-Z]{18})">')
ZJG = {uscc(n) for n in (1, 2, 3, 4)}
CS = {uscc(5, "320581"), uscc(6, "320581")}


def shown(client, query: str = "") -> set[str]:
    r = client.get("/enterprises" + (f"?{query}" if query else ""))
    assert r.status_code == 200, r.text
    return set(ROW_RE.findall(r.text))


def test_admin_sees_the_enterprises_of_the_county_only(client, login_as):
    login_as("admin")
    r = client.get("/enterprises")
    assert "共 4 家企业" in r.text
    assert set(ROW_RE.findall(r.text)) == ZJG
    assert "常熟" not in r.text.split("<tbody>")[1]


def test_other_county_admin_sees_none_of_zhangjiagang(client, login_as):
    login_as("other_admin")
    assert shown(client) == CS
    assert shown(client, "q=张家港") == set()


def test_staff_may_use_the_list_and_other_roles_may_not(client, login_as):
    login_as("staff")
    assert shown(client) == ZJG
    for role in ("tax", "ent1", "bank", "expert", "inst"):
        client.cookies.clear()
        login_as(role)
        assert client.get("/enterprises").status_code == 403, role
    client.cookies.clear()
    r = client.get("/enterprises", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize(("query", "expected"), [
    ("q=华芯", {1}),
    ("q=新材料", {2}),
    ("q=张家港", {1, 2, 3, 4}),
    ("q=有限公司", {1, 2, 3, 4}),
    ("q=不存在的企业", set()),
    ("q=%25", set()),  # a LIKE wildcard is a literal character, not "everything"
    ("q=_", set()),
    ("q=91320582", {1, 2, 3, 4}),  # credit-code prefix
])
def test_search_by_name_or_credit_code_prefix(client, login_as, query, expected):
    login_as("admin")
    assert shown(client, query) == {uscc(n) for n in expected}


def test_search_by_whole_credit_code_and_its_prefix_any_case(client, login_as):
    login_as("admin")
    assert shown(client, f"q={uscc(2)}") == {uscc(2)}
    assert shown(client, f"q={uscc(3)[:16]}") == {uscc(3)}
    assert shown(client, f"q={uscc(2).lower()}") == {uscc(2)}
    assert shown(client, f"q={uscc(5, '320581')}") == set()  # exists, but not in scope


@pytest.mark.parametrize(("query", "expected"), [
    (f"region={HOME_TOWN}", {1, 3}),
    (f"region={HOME_PARK}", {2}),
    ("industry=C", {1, 2, 3}),
    ("industry=I", {4}),
    ("industry=39", {1}),
    ("industry=26", {2}),
    ("industry=65", {4}),
    ("industry=13", set()),
])
def test_region_and_industry_filters(client, login_as, query, expected):
    login_as("admin")
    assert shown(client, query) == {uscc(n) for n in expected}


@pytest.mark.parametrize("query", ["industry=C39", "industry=9", "industry=00",
                                   f"region={OTHER_TOWN}", "region=999999999", "qual=gold",
                                   "page=0"])
def test_invalid_filters_are_refused_with_a_reason(client, login_as, query):
    login_as("admin")
    r = client.get(f"/enterprises?{query}")
    assert r.status_code == 422
    assert "alert error" in r.text


@pytest.mark.parametrize(("qual", "expected"), [
    ("hte", {1}),  # valid through today (Asia/Shanghai); 2's certificate expired yesterday
    ("tech_sme", {3}),
    ("srdi", {2, 4}),
    ("little_giant", {2}),
    ("rd_institution", {3}),
    ("dishonest", {4}),
    ("abnormal", {1}),
])
def test_qualification_filters(client, login_as, qualified, qual, expected):
    login_as("admin")
    assert shown(client, f"qual={qual}") == {uscc(n) for n in expected}


def test_badges_show_qualifications_and_flags(client, login_as, qualified):
    login_as("admin")
    html = client.get("/enterprises").text
    row = {u: html.split(f'data-uscc="{u}"')[1].split("</tr>")[0] for u in ZJG}
    assert 'data-badge="hte"' in row[uscc(1)] and 'data-badge="abnormal"' in row[uscc(1)]
    assert 'data-badge="hte_expired"' in row[uscc(2)]
    assert "小巨人" in row[uscc(2)]
    assert "科小 2025" in row[uscc(3)] and "市级研发机构" in row[uscc(3)]
    assert "失信" in row[uscc(4)] and "rd_institution" not in row[uscc(4)]


def test_combined_filters(client, login_as, qualified):
    login_as("admin")
    assert shown(client, f"q=张家港&industry=C&region={HOME_TOWN}&qual=hte") == {uscc(1)}
    assert shown(client, f"q=机械&industry=C&region={HOME_TOWN}&qual=hte") == set()


def test_columns_show_town_and_industry_with_names(client, login_as):
    login_as("admin")
    html = client.get("/enterprises?q=华芯").text
    assert "杨舍镇" in html
    assert "C3973" in html and "集成电路制造" in html
    assert uscc(1) in html


@pytest.fixture
def many(engine):
    """55 more enterprises in 杨舍镇, named so that they sort after the seed."""
    with unit_of_work(engine) as s:
        s.execute(insert(Enterprise), [
            dict(uscc=uscc(100 + i), name=f"张家港批量测试企业{i:03d}有限公司",
                 region_code=HOME_TOWN, industry_code="3421", founded_on=date(2020, 1, 1))
            for i in range(55)
        ])


def test_pagination_keeps_the_filters(client, login_as, many):
    login_as("admin")
    first = client.get("/enterprises?q=批量&industry=34")
    assert "共 55 家企业" in first.text
    assert len(ROW_RE.findall(first.text)) == 50
    assert "第 1 / 2 页" in first.text
    nxt = re.search(r'<a href="(/enterprises\?[^"]+)"[^>]*rel="next"', first.text)
    assert nxt, "no next-page link"
    link = nxt.group(1).replace("&amp;", "&")
    assert "industry=34" in link and "page=2" in link and "q=%E6%89%B9%E9%87%8F" in link
    second = client.get(link)
    rows = ROW_RE.findall(second.text)
    assert len(rows) == 5
    assert set(rows).isdisjoint(ROW_RE.findall(first.text))
    assert 'rel="prev"' in second.text
    # a page past the end shows the last page rather than nothing
    assert len(ROW_RE.findall(client.get("/enterprises?q=批量&page=9").text)) == 5


def test_htmx_request_gets_the_rows_partial_and_direct_links_the_whole_page(client, login_as):
    login_as("admin")
    headers = {"HX-Request": "true", "HX-Target": "enterprise-rows"}
    partial = client.get("/enterprises?industry=I", headers=headers)
    assert partial.status_code == 200
    assert "<html" not in partial.text and "<form" not in partial.text
    assert set(ROW_RE.findall(partial.text)) == {uscc(4)}
    assert "HX-Request" in partial.headers.get("vary", "")
    full = client.get("/enterprises?industry=I")
    assert "<html" in full.text and 'hx-push-url="true"' in full.text
    assert 'value="I" selected' in full.text  # the form shows the filter of a direct link
    restore = client.get("/enterprises?industry=I",
                         headers={**headers, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_region_select_lists_towns_and_parks_of_the_scope(client, login_as):
    login_as("admin")
    html = client.get("/enterprises").text
    select = html.split('name="region"')[1].split("</select>")[0]
    assert f'value="{HOME_TOWN}"' in select and f'value="{HOME_PARK}"' in select
    assert OTHER_TOWN not in select
    assert 'value="320582"' not in select  # the admin's own county is "all"


def test_english_labels(client, login_as, qualified):
    login_as("admin")
    client.get("/lang/en")
    html = client.get("/enterprises").text
    assert "4 enterprises" in html and "Credit code" in html and "HTE" in html


def test_walking_every_page_gives_each_enterprise_once_in_name_order(engine, many):
    """Back-half pages are read from the end of the index; the result must not differ."""
    from sqlalchemy import select

    from kechuang.auth.actor import Actor
    from kechuang.db import unit_of_work
    from kechuang.models import Enterprise
    from kechuang.registry.schemas import EnterpriseFilters
    from kechuang.registry.service import list_enterprises
    from tests.support.seed import HOME_COUNTY

    admin = Actor(username="t", role="bureau_admin", region_code=HOME_COUNTY,
                  region_path="/320000/320500/320582/")
    with unit_of_work(engine) as s:
        expected = list(s.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(
            [*ZJG, *(uscc(100 + i) for i in range(55))])).order_by(Enterprise.name,
                                                                    Enterprise.id)))
        walked: list[str] = []
        first = list_enterprises(s, admin, EnterpriseFilters(), per_page=7)
        assert first.pages == 9
        for page in range(1, first.pages + 1):
            result = list_enterprises(s, admin, EnterpriseFilters(page=page), per_page=7)
            walked += [i.uscc for i in result.items]
    assert walked == expected and len(walked) == 59
