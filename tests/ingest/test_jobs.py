"""An upload runs as a job with progress (issue 11, item 6): the page queues it and follows
it (HTMX polling) to a result in sentences; the API answers 202 with the job id and where to
follow it. The uploaded bytes wait in ``import_upload`` until the job ran."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.models import Fact, ImportBatch, ImportUpload, Job
from tests.ingest.helpers import GOOD_ROWS, TAX_HEADER, U1, csv_bytes

BAD = csv_bytes([TAX_HEADER, [U1, 2023, "一百", "", ""]])


def _counts(engine):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return (s.scalar(select(func.count()).select_from(Fact)),
                s.scalar(select(func.count()).select_from(ImportBatch)),
                s.scalar(select(func.count()).select_from(ImportUpload)))


def test_a_page_upload_runs_as_a_job_the_page_follows(client, login_as, engine):
    jobs.set_background(engine, False)
    csrf = login_as("tax")
    form = client.get("/imports/new").text
    assert 'name="as_job" value="true"' in form
    facts_before, batches_before, _ = _counts(engine)
    r = client.post("/imports", data={"template": "tax", "csrf_token": csrf, "as_job": "true"},
                    files={"file": ("good.csv", csv_bytes(GOOD_ROWS), "text/csv")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/imports/jobs/(\d+)", r.headers["location"])
    assert m
    job_id = int(m.group(1))
    page = client.get(f"/imports/jobs/{job_id}").text
    assert f'hx-get="/imports/jobs/{job_id}/progress"' in page and 'hx-trigger="every 1s"' in page
    assert 'data-status="queued"' in page
    assert _counts(engine) == (facts_before, batches_before, 1)  # nothing imported yet

    assert jobs.run_pending(engine) == 1
    part = client.get(f"/imports/jobs/{job_id}/progress").text
    assert 'data-status="done"' in part and "hx-get" not in part  # polling stops
    assert 'data-testid="import-job-sentences"' in part and "已导入为批次" in part
    assert "Imported 2 of 2 rows" in part and 'data-testid="import-summary"' in part
    facts_after, batches_after, uploads = _counts(engine)
    assert facts_after > facts_before and batches_after == batches_before + 1 and uploads == 0
    with unit_of_work(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None and job.actor == "tax" and job.result["ok"] is True


def test_a_file_with_problems_ends_as_a_job_listing_them(client, login_as, engine):
    jobs.set_background(engine, False)
    csrf = login_as("tax")
    facts_before, batches_before, _ = _counts(engine)
    r = client.post("/imports", data={"template": "tax", "csrf_token": csrf, "as_job": "true"},
                    files={"file": ("bad.csv", BAD, "text/csv")}, follow_redirects=False)
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    jobs.run_pending(engine)
    part = client.get(f"/imports/jobs/{job_id}").text
    assert 'data-ok="false"' in part and 'data-testid="problems"' in part and "一百" in part
    assert "was not imported: 1 problems" in part and 'data-testid="problems-xlsx"' in part
    assert _counts(engine)[:2] == (facts_before, batches_before)


def test_the_api_queues_an_import_and_answers_where_to_follow_it(client, login_as, engine):
    jobs.set_background(engine, False)
    csrf = login_as("tax")
    r = client.post("/api/v1/imports", data={"template": "tax", "as_job": "true"},
                    headers={"X-CSRF-Token": csrf},
                    files={"file": ("api.csv", csv_bytes(GOOD_ROWS), "text/csv")})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and r.headers["location"] == body["status_url"]
    assert body["status_url"] == f"/api/v1/jobs/{body['job_id']}"
    assert client.get(body["status_url"]).json()["status"] == "queued"
    jobs.run_pending(engine)
    done = client.get(body["status_url"]).json()
    assert done["status"] == "done" and done["result"]["ok"] is True
    batch_id = done["result"]["batch_id"]
    assert batch_id and done["result"]["url"] == f"/imports/{batch_id}"
    assert done["result"]["rows_imported"] == 2


def test_another_department_cannot_follow_the_job(client, login_as, engine):
    jobs.set_background(engine, False)
    csrf = login_as("tax")
    r = client.post("/imports", data={"template": "tax", "csrf_token": csrf, "as_job": "true"},
                    files={"file": ("g.csv", csv_bytes(GOOD_ROWS), "text/csv")},
                    follow_redirects=False)
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    client.cookies.clear()
    login_as("other_admin")
    assert client.get(f"/imports/jobs/{job_id}").status_code == 404
    assert client.get(f"/imports/jobs/{job_id}/progress").status_code == 404
