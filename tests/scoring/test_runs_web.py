"""The scoring pages and JSON: start a run as a job from the web, follow its progress,
browse the ranking with HTMX filters and pages, open an enterprise's explanation."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.models import Enterprise
from kechuang.models.scoring import ScoreResult, ScoringRun
from tests.conftest import login
from tests.scoring.test_runs import demo  # noqa: F401  (the module's demo county fixture)

DEMO_PASSWORD = "demo-pass-2024"


@pytest.fixture
def web(demo: Engine) -> Iterator[TestClient]:  # noqa: F811
    from kechuang.app import create_app

    jobs.set_background(demo, False)
    with TestClient(create_app(demo), base_url="http://testserver") as c:
        yield c


def _start(web: TestClient, demo: Engine, system: str = "torch") -> int:  # noqa: F811
    token = login(web, "admin", DEMO_PASSWORD)
    page = web.get("/scoring")
    assert page.status_code == 200 and 'name="system"' in page.text
    r = web.post("/scoring/runs", data={"system": system, "year": "", "csrf_token": token},
                 follow_redirects=False)
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/jobs/(\d+)", r.headers["location"])
    assert m
    job_id = int(m.group(1))
    assert web.get(f"/api/v1/jobs/{job_id}").json()["status"] == "queued"
    assert jobs.run_pending(demo) >= 1
    body = web.get(f"/api/v1/jobs/{job_id}").json()
    assert body["status"] == "done", body
    run_id = int(body["result"]["run_id"])
    assert body["result"]["url"] == f"/scoring/runs/{run_id}"
    with unit_of_work(demo) as s:
        run = s.get(ScoringRun, run_id)
        assert run is not None and run.job_id == job_id and run.actor == "admin"
    job_page = web.get(f"/jobs/{job_id}")
    assert f'href="/scoring/runs/{run_id}"' in job_page.text
    return run_id


def test_start_a_run_from_the_web_and_browse_it(web: TestClient, demo: Engine) -> None:  # noqa: F811
    run_id = _start(web, demo)
    assert f'href="/scoring/runs/{run_id}"' in web.get("/scoring").text
    page = web.get(f"/scoring/runs/{run_id}")
    assert page.status_code == 200
    assert "data-scoring-histogram" in page.text and "/static/scoring-run.js" in page.text
    ranks = [int(x) for x in re.findall(r'data-rank="(\d+)"', page.text)]
    assert ranks == sorted(ranks) and ranks[0] == 1 and len(ranks) == 50
    # an HTMX filter request returns only the rows partial, filtered
    part = web.get(f"/scoring/runs/{run_id}?stage=成长", headers={"HX-Request": "true"})
    assert "<html" not in part.text
    usccs = re.findall(r'data-uscc="([0-9A-Z]{18})"', part.text)
    with unit_of_work(demo) as s:
        stages = dict(s.execute(select(Enterprise.uscc, ScoreResult.stage).join(
            ScoreResult, ScoreResult.enterprise_id == Enterprise.id).where(
            ScoreResult.run_id == run_id)).all())
    assert usccs and all(stages[u] == "成长" for u in usccs)
    lead = web.get(f"/scoring/runs/{run_id}?tier=lead", headers={"HX-Request": "true"})
    assert 'data-tier="lead"' in lead.text and 'data-tier="race"' not in lead.text
    page2 = web.get(f"/scoring/runs/{run_id}?page=2", headers={"HX-Request": "true"})
    ranks2 = [int(x) for x in re.findall(r'data-rank="(\d+)"', page2.text)]
    assert ranks2 and min(ranks2) >= max(ranks)
    # the explanation page of the top enterprise
    top = usccs[0]
    exp = web.get(f"/scoring/runs/{run_id}/enterprises/{top}")
    assert exp.status_code == 200
    assert 'data-indicator="rd_expense_amount"' in exp.text and "data-batch=" in exp.text
    api = web.get(f"/api/v1/scoring/runs/{run_id}/enterprises/{top}").json()
    assert api["uscc"] == top and api["indicators"][0]["facts"]
    res = web.get(f"/api/v1/scoring/runs/{run_id}/results?stage=成长&size=10").json()
    assert res["total"] == sum(1 for v in stages.values() if v == "成长")
    assert len(res["rows"]) == 10
    assert web.get(f"/api/v1/scoring/runs/{run_id}").json()["input_hash"]
    assert {s["id"] for s in web.get("/api/v1/scoring/systems").json()} >= {
        "torch-points", "zjg-points"}


def test_a_town_bureau_sees_only_its_enterprises(web: TestClient, demo: Engine) -> None:  # noqa: F811
    run_id = _start(web, demo, "zjg-1.0")
    login(web, "staff_yangshe", DEMO_PASSWORD)
    with unit_of_work(demo) as s:
        town = dict(s.execute(select(Enterprise.uscc, Enterprise.region_code)).all())
    body = web.get(f"/api/v1/scoring/runs/{run_id}/results?size=500").json()
    assert body["total"] == sum(1 for r in town.values() if r == "320582100")
    assert all(town[r["uscc"]] == "320582100" for r in body["rows"])
    outside = next(u for u, r in town.items() if r != "320582100")
    assert web.get(f"/scoring/runs/{run_id}/enterprises/{outside}").status_code == 404


def test_bad_form_input_is_refused_with_a_message(web: TestClient, demo: Engine) -> None:  # noqa: F811
    token = login(web, "admin", DEMO_PASSWORD)
    r = web.post("/scoring/runs", data={"system": "nope", "csrf_token": token})
    assert r.status_code == 404 and "未知的指标体系" in r.text
    r = web.post("/scoring/runs", data={"system": "torch", "year": "二〇二四",
                                        "csrf_token": token})
    assert r.status_code == 422 and "年份" in r.text
