"""The interface's own pieces: the API reference under our CSP, the favicon, the demo
password hint only with the demo, job results as sentences (issue 11, item 8)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from kechuang.app import CSP, STATIC_DIR, SWAGGER
from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.jobs.views import param_rows, result_sentence
from kechuang.kit import audit
from kechuang.models import Job
from kechuang.workbench import service as workbench_service
from tests.conftest import login
from tests.support.seed import HOME_COUNTY


def test_api_docs_use_vendored_swagger_and_no_inline_script(client: TestClient):
    r = client.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CSP
    html = r.text
    assert f"{SWAGGER}/swagger-ui-bundle.js" in html and "/static/api-docs.js" in html
    assert "cdn" not in html.lower() and "<script>" not in html
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        path = Path(STATIC_DIR) / SWAGGER.removeprefix("/static/") / name
        assert path.is_file(), path
        assert client.get(f"{SWAGGER}/{name}").status_code == 200
    assert client.get("/api/openapi.json").json()["paths"]


def test_every_page_links_the_favicon(client: TestClient):
    html = client.get("/login").text
    assert 'href="/static/favicon.svg"' in html and 'href="/static/favicon.ico"' in html
    assert client.get("/static/favicon.svg").headers["content-type"].startswith("image/svg")
    assert client.get("/static/favicon.ico").content[:4] == b"\x00\x00\x01\x00"


def test_the_demo_password_hint_shows_only_when_the_database_holds_the_demo(app, engine):
    workbench_service._DEMO_SEEN.clear()
    client = TestClient(app)
    assert 'data-testid="demo-hint"' not in client.get("/login").text
    with unit_of_work(engine) as s:
        audit.record(s, Actor.command_line(), "demo.generate", "region", "320582")
    workbench_service._DEMO_SEEN.clear()
    page = client.get("/login").text
    assert 'data-testid="demo-hint"' in page and "demo-pass-2024" in page


def test_job_results_read_as_sentences():
    zh = result_sentence("scoring.run", {"run_id": 7, "enterprises": 300, "vetoed": 4,
                                         "input_hash": "ab", "url": "/scoring/runs/7"}, "zh")
    assert zh == "测算完成：300 家企业参与积分，其中 4 家被一票否决（测算 #7）。"
    en = result_sentence("finance.match", {"run_id": 1, "needs": 5, "products": 3, "pairs": 9,
                                           "url": "/finance"}, "en")
    assert en == "5 financing needs against 3 products gave 9 matches."
    policy = result_sentence("policy.run", {"runs": [{"run_id": 1}, {"run_id": 2}],
                                            "enterprises": 80, "url": "/policies"}, "en")
    assert policy == "Matched 2 policies over 80 enterprises."
    rebuilt = result_sentence("matching.index.rebuild",
                              {"counts": {"achievement": 3, "demand": 2, "expert": 1}}, "zh")
    assert "成果 3 项" in rebuilt and "{" not in rebuilt
    # an unknown kind or a result missing a field still reads as a sentence, never JSON
    assert result_sentence("new.kind", {"x": 1}, "en") == "The job finished."
    assert result_sentence("scoring.run", {}, "zh") == "任务已完成。"
    assert param_rows({"system_id": "zjg", "year": 2025}, "en") == [
        ("Scoring system", "zjg"), ("Year", "2025")]


def test_a_finished_job_page_shows_no_json(app, engine):
    client = TestClient(app)
    login(client, "admin")
    with unit_of_work(engine) as s:
        job = Job(kind="scoring.run", params={"year": 2023}, status="done", progress_done=1,
                  progress_total=1, progress_label="完成", region_code=HOME_COUNTY,
                  actor="admin", result={"run_id": 3, "enterprises": 12, "vetoed": 1,
                                         "input_hash": "x" * 64, "url": "/scoring/runs/3"})
        s.add(job)
        s.flush()
        job_id = job.id
    html = client.get(f"/jobs/{job_id}").text
    assert "12 家企业参与积分" in html
    assert '"input_hash"' not in html and "&#34;" not in html


def test_badges_do_not_wrap():
    css = (Path(STATIC_DIR) / "app.css").read_text("utf-8")
    rule = css.split(".badge {", 1)[1].split("}", 1)[0]
    assert "white-space: nowrap" in rule
