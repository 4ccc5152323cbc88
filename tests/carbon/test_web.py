"""The carbon pages and API: the bureau's overview (chart, towns, industries, alerts, export),
an enterprise's own page, both languages; re-evaluation by the button."""

from __future__ import annotations

import re

from sqlalchemy import select

from kechuang.auth.actor import Actor
from kechuang.carbon import service
from kechuang.db import unit_of_work
from kechuang.models.monitoring import CarbonEvaluation
from tests.support.seed import uscc

HAN = re.compile(r"[\u4e00-\u9fff]")


def _evaluate(engine) -> None:
    with unit_of_work(engine) as s:
        service.do_evaluate(s, Actor.command_line())


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def test_bureau_overview_in_both_languages(client, login_as, carbon_db) -> None:
    _evaluate(carbon_db)
    login_as("admin")
    page = client.get("/carbon")
    assert page.status_code == 200
    text = page.text
    assert "各等级企业占比" in text and 'data-kc-chart="' in text
    assert "/static/monitoring-charts.js" in text
    assert client.get("/static/monitoring-charts.js").status_code == 200
    assert "杨舍镇" in text  # by town
    assert "常熟虞山纺织" not in text  # 常熟's enterprises are outside the scope
    feb = client.get("/carbon?period=2025-02").text
    assert f'data-uscc="{uscc(1)}"' in feb and "强度上升超 10%" in feb
    client.get("/lang/en")
    en = client.get("/carbon?period=2025-02").text
    assert "Share of enterprises in each grade" in en and "intensity up over 10 %" in en
    # no interface Chinese on the English page (data values — names, towns — aside)
    stripped = re.sub(r"<(td|option|a)[^>]*>[^<]*</\1>", "", _main(en))
    stripped = re.sub(r'data-kc-chart="[^"]*"', "", stripped)
    assert not HAN.search(re.sub(r"<td>.*?</td>", "", stripped, flags=re.S)), \
        HAN.findall(stripped)[:10]


def test_export_csv_is_neutralised_and_scoped(client, login_as, carbon_db) -> None:
    _evaluate(carbon_db)
    login_as("staff")
    r = client.get("/carbon/export.csv?period=2025-01")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("uscc,name,industry_code")
    assert len(lines) == 1 + 3  # 张家港's three enterprises with facts


def test_enterprise_sees_its_own_page_only(client, login_as, carbon_db) -> None:
    _evaluate(carbon_db)
    login_as("ent1")
    r = client.get("/carbon/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/carbon/enterprise/{uscc(1)}"
    page = client.get(f"/carbon/enterprise/{uscc(1)}")
    assert page.status_code == 200
    assert 'data-testid="grade"' in page.text and 'data-period="2025-03"' in page.text
    assert "行业内第" in page.text
    assert client.get(f"/carbon/enterprise/{uscc(3)}").status_code == 404
    assert client.get("/carbon").status_code == 403
    api = client.get(f"/api/v1/carbon/enterprises/{uscc(1)}").json()
    assert [m["period"] for m in api] == ["2025-01", "2025-02", "2025-03"]


def test_ungraded_month_and_no_data(client, login_as, carbon_db) -> None:
    _evaluate(carbon_db)
    login_as("admin")
    page = client.get(f"/carbon/enterprise/{uscc(2)}").text  # March: value added 0
    assert "不评级（无增加值）" in page
    page = client.get(f"/carbon/enterprise/{uscc(4)}").text  # no monthly facts at all
    assert 'data-testid="no-grades"' in page


def test_evaluate_button_and_api(client, login_as, carbon_db) -> None:
    csrf = login_as("admin")
    assert 'data-testid="no-evaluation"' in client.get("/carbon").text
    r = client.post("/carbon/evaluate", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/carbon?done=")
    with unit_of_work(carbon_db) as s:
        ev = s.scalar(select(CarbonEvaluation))
        assert ev.region_code == "320582" and ev.enterprises == 3
    ov = client.get("/api/v1/carbon/overview").json()
    assert ov["period"] == "2025-03" and len(ov["shares"]) == 3
    grades = client.get("/api/v1/carbon/grades?period=2025-02&alerts=true").json()
    assert [g["uscc"] for g in grades["items"]] == [uscc(1)]
    assert client.get("/api/v1/carbon/grades?period=2025-13").status_code == 422
    r = client.post("/api/v1/carbon/evaluations", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["graded"] == 8
