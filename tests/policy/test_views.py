"""The policy pages and API: the enterprise section with verdicts, gaps, clauses and missing
inputs; the bureau overview and web-started runs (CSRF, audit); scope of the JSON API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.models import AuditEvent, PolicyRun
from kechuang.policy.service import do_run_policies
from tests.conftest import login
from tests.policy.rundata import AS_OF, U1, U2, U3, U5, import_all
from tests.support.jobs import finish_job


@pytest.fixture
def ran(engine: Engine) -> Engine:
    import_all(engine)
    with unit_of_work(engine) as s:
        do_run_policies(s, Actor.command_line(), None, AS_OF)
    return engine


def test_enterprise_section_shows_verdicts_gaps_clauses_and_missing(app, ran) -> None:
    client = TestClient(app)
    login(client, "staff")
    page = client.get(f"/enterprises/{U2}")
    assert page.status_code == 200
    assert f'hx-get="/enterprises/{U2}/policies"' in page.text
    part = client.get(f"/enterprises/{U2}/policies")
    assert part.status_code == 200
    html = part.text
    assert 'data-policy="hte"' in html and "高新技术企业认定" in html
    assert "国科发火〔2016〕32号" in html
    assert "不符合" in html
    # the gap sentence of the failed R&D leaf, in the user's terms, with its clause
    assert 'data-leaf="hte.rd_ratio"' in html
    assert "2.7%" in html and "还需增加研发投入" in html
    assert "第十一条" in html
    # the enterprise's data are those of the run: no "data changed" note
    assert "企业数据已更新" not in html
    # U3 has one year of revenue only: insufficient data naming what is missing
    part3 = client.get(f"/enterprises/{U3}/policies").text
    assert "数据不足" in part3 and "缺少的数据" in part3
    assert "研发费用（2024 年）" in part3 or "营业收入（2023 年）" in part3


def test_gap_sentences_say_when_data_changed_after_the_run(app, ran) -> None:
    from kechuang.ingest.service import do_import
    from tests.ingest.helpers import csv_bytes
    from tests.policy.rundata import HRSS

    with unit_of_work(ran) as s:
        assert do_import(s, Actor.command_line(), csv_bytes([HRSS, [U2, 2024, "210", "15"]]),
                         "fix.csv", "hrss").ok
    client = TestClient(app)
    login(client, "admin")
    html = client.get(f"/enterprises/{U2}/policies").text
    assert "企业数据已更新" in html and "不符合" in html


def test_enterprise_sees_its_own_policies_only(app, ran) -> None:
    client = TestClient(app)
    login(client, "ent1")
    own = client.get("/api/v1/enterprises/me/policies")
    assert own.status_code == 404  # "me" is not a credit code
    mine = client.get(f"/api/v1/enterprises/{U1}/policies")
    assert mine.status_code == 200
    body = mine.json()
    assert {p["policy_id"] for p in body} >= {"hte", "tech_sme"}
    assert all(p["verdict_label"] in {"符合", "不符合", "数据不足", "很可能符合", "临界"}
               for p in body)
    assert client.get(f"/api/v1/enterprises/{U2}/policies").status_code == 404
    assert client.get(f"/enterprises/{U2}/policies").status_code == 404


@pytest.mark.parametrize("account", ["other_admin", "bank", "expert"])
def test_api_scope_outside_region_is_404(app, ran, account) -> None:
    client = TestClient(app)
    login(client, account)
    assert client.get(f"/api/v1/enterprises/{U2}/policies").status_code == 404
    assert client.get(f"/enterprises/{U2}/policies").status_code == 404


def test_api_failed_leaves_carry_clause_and_gap(app, ran) -> None:
    client = TestClient(app)
    login(client, "admin")
    body = {p["policy_id"]: p for p in client.get(f"/api/v1/enterprises/{U2}/policies").json()}
    hte = body["hte"]
    assert hte["verdict"] == "ineligible" and hte["as_of"] == AS_OF.isoformat()
    rd = next(f for f in hte["failed"] if f["leaf_id"] == "hte.rd_ratio")
    assert rd["clause"].startswith("国科发火〔2016〕32号") and "还需增加研发投入" in rd["gap"]
    assert rd["value"] == pytest.approx(0.027)
    # other county's admin sees 常熟's enterprise, which the CLI run covered too
    other = TestClient(app)
    login(other, "other_admin")
    assert other.get(f"/api/v1/enterprises/{U5}/policies").status_code == 200


def test_overview_and_web_run(app, engine) -> None:
    import_all(engine)
    jobs.set_background(engine, False)  # the test runs the queued job itself
    client = TestClient(app)
    csrf = login(client, "admin")
    page = client.get("/policies")
    assert page.status_code == 200
    assert "科技型中小企业评价" in page.text and "从未运行" in page.text
    refused = client.post("/policies/run", data={"as_of": "2025-03-01"},
                          follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    bad = client.post("/policies/run", data={"as_of": "2025-13-01", "csrf_token": csrf},
                      follow_redirects=False)
    assert bad.status_code == 422
    r = client.post("/policies/run", data={"as_of": "2025-03-01", "csrf_token": csrf},
                    follow_redirects=False)
    job_page = r.headers["location"]
    assert client.get(f"/api/v1{job_page}").json()["status"] == "queued"
    with unit_of_work(engine) as s:  # nothing is computed in the request itself
        assert s.scalar(select(func.count()).select_from(PolicyRun)) == 0
    result = finish_job(client, engine, r)
    assert {run["policy_id"] for run in result["runs"]} >= {"tech_sme", "hte"}
    assert f'href="{result["url"]}"' in client.get(job_page).text
    page = client.get(result["url"])
    assert "已完成" in page.text and 'data-verdict="eligible"' in page.text
    with unit_of_work(engine) as s:
        runs = s.scalars(select(PolicyRun)).all()
        assert {run.region_code for run in runs} == {"320582"}
        assert all(run.enterprises == 4 for run in runs)  # 张家港 only
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "policy.run", AuditEvent.actor == "admin")) == len(runs)
    # the county's counts: tech_sme over 张家港's four enterprises
    assert "数据不足" in page.text
    staff = TestClient(app)
    login(staff, "staff")
    assert 'data-verdict="eligible"' in staff.get("/policies").text
    other = TestClient(app)
    login(other, "other_admin")
    assert "从未运行" in other.get("/policies").text  # 张家港's run does not cover 常熟
