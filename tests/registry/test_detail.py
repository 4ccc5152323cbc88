"""The enterprise detail page: master data, facts with their sources, history, chart, and who
may see which enterprise."""

from __future__ import annotations

import html as htmllib
import json
import re

from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.models import AuditEvent
from tests.support.seed import uscc


def cell(page: str, metric: str, year: int) -> str:
    row = page.split(f'<tr data-metric="{metric}">')[1].split("</tr>")[0]
    return row.split(f'data-year="{year}">')[1].split("</td>")[0]


def test_master_data_region_path_and_industry(client, login_as):
    login_as("admin")
    r = client.get(f"/enterprises/{uscc(1)}")
    assert r.status_code == 200
    assert "张家港华芯微电子有限公司" in r.text
    assert "江苏省 / 苏州市 / 张家港市 / 杨舍镇" in r.text
    assert "C3973" in r.text and "集成电路制造" in r.text
    assert "2011-03-01" in r.text and "小型" in r.text
    assert "尚无归集数据" in r.text


def test_yearly_facts_with_units_and_their_source_batch(client, login_as, facts):
    login_as("admin")
    page = client.get(f"/enterprises/{uscc(1)}").text
    # the corrected 2022 revenue comes from the statistics batch, 2021 from the tax batch
    c2022 = cell(page, "revenue", 2022)
    assert "1,510.75" in c2022 and f'href="/imports/{facts["stats"]}"' in c2022
    assert "统计局" in c2022 and "统计年报2023.xlsx" in c2022
    assert "2024-07-01 01:30:00" in c2022  # 17:30 UTC shown in Asia/Shanghai
    c2021 = cell(page, "revenue", 2021)
    assert "1,200.50" in c2021 and f'href="/imports/{facts["tax"]}"' in c2021
    assert "税务局" in c2021
    assert "95.25" in cell(page, "rd_expense", 2022)
    assert "—" in cell(page, "rd_expense", 2023)
    assert ">120<" in cell(page, "employees", 2022)
    assert "营业收入（销售收入）" in page and "（万元）" in page


def test_monthly_facts_attributes_and_source_list(client, login_as, facts):
    login_as("admin")
    page = client.get(f"/enterprises/{uscc(1)}").text
    monthly = page.split('data-testid="monthly"')[1].split("</table>")[0]
    assert "综合能耗" in monthly and "12.5" in monthly and ">13<" in monthly
    attrs = page.split('data-testid="attributes"')[1].split("</table>")[0]
    assert "专精特新等级" in attrs and "省级" in attrs and "税务局" in attrs
    sources = page.split('data-testid="sources"')[1].split("</table>")[0]
    assert "税务数据2022.csv" in sources and "统计年报2023.xlsx" in sources
    assert "2024-03-01 10:00:00" in sources


def test_history_lists_the_superseded_value_and_its_successor(client, login_as, facts):
    login_as("admin")
    page = client.get(f"/enterprises/{uscc(1)}").text
    history = page.split('data-testid="history"')[1].split("</table>")[0]
    rows = re.findall(r"<tr data-metric=\"(\w+)\">(.*?)</tr>", history, re.S)
    assert [m for m, _ in rows] == ["revenue"]
    body = rows[0][1]
    assert "2022" in body and "1,500.00" in body
    assert f'href="/imports/{facts["tax"]}"' in body
    assert f'href="/imports/{facts["stats"]}"' in body


def test_chart_holds_revenue_and_rd_expense_by_year_as_exact_strings(client, login_as, facts):
    login_as("admin")
    page = client.get(f"/enterprises/{uscc(1)}").text
    assert "/static/vendor/echarts-5.6.0.min.js" in page
    raw = re.search(r'data-chart="([^"]+)"', page).group(1)
    option = json.loads(htmllib.unescape(raw))
    assert option["xAxis"]["data"] == ["2021", "2022", "2023"]
    series = {s["name"]: s["data"] for s in option["series"]}
    assert series["营业收入（销售收入）"] == ["1200.5", "1510.75", "1800"]
    assert series["研发费用"] == ["80", "95.25", None]
    assert "<script>" not in page.split("<main>")[1]  # no inline script (CSP)


def test_no_chart_without_revenue(client, login_as):
    login_as("admin")
    assert "data-chart" not in client.get(f"/enterprises/{uscc(2)}").text


def test_enterprise_account_sees_itself_only(client, login_as, facts):
    login_as("ent1")
    r = client.get("/enterprises/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/enterprises/{uscc(1)}"
    assert client.get(f"/enterprises/{uscc(1)}").status_code == 200
    for other in (uscc(2), uscc(5, "320581"), "913205820000009999"):
        r = client.get(f"/enterprises/{other}")
        assert r.status_code == 404
        assert "企业不存在或不在您的权限范围内" in r.text


def test_bureau_outside_its_region_gets_404_like_a_missing_enterprise(client, login_as):
    login_as("other_admin")
    outside = client.get(f"/enterprises/{uscc(1)}")
    missing = client.get("/enterprises/913205820000009999")
    assert outside.status_code == missing.status_code == 404
    assert outside.text.replace(uscc(1), "X") == missing.text.replace("913205820000009999", "X")
    assert client.get(f"/enterprises/{uscc(5, '320581')}").status_code == 200


def test_me_is_for_enterprise_accounts_only(client, login_as):
    login_as("admin")
    assert client.get("/enterprises/me").status_code == 403


def test_bank_and_expert_see_no_enterprise_and_no_read_is_logged(client, login_as, engine):
    for who in ("bank", "expert"):
        client.cookies.clear()
        login_as(who)
        assert client.get(f"/enterprises/{uscc(1)}").status_code == 404
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "enterprise.read")) == 0


def test_department_and_institute_may_not_open_enterprises(client, login_as):
    for who in ("tax", "inst"):
        client.cookies.clear()
        login_as(who)
        assert client.get(f"/enterprises/{uscc(1)}").status_code == 403


def test_detail_in_english(client, login_as, facts):
    login_as("admin")
    client.get("/lang/en")
    page = client.get(f"/enterprises/{uscc(1)}").text
    assert "Revenue (sales)" in page and "Tax bureau" in page and "Yearly metrics" in page
