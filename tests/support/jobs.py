"""Following a page's long work through its job, as a browser would: the POST redirects to
the job page, the job runs (here in the test's thread if the worker has not taken it yet),
and its result names the page to go to."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kechuang.jobs import service as jobs


def finish_job(client: TestClient, engine: Engine, response: Any) -> dict[str, Any]:
    """The result of the job a POST response redirected to, once it is done."""
    assert response.status_code == 303, response.text
    m = re.fullmatch(r"/jobs/(\d+)", response.headers["location"])
    assert m, response.headers["location"]
    job_id = int(m.group(1))
    jobs.run_pending(engine)
    deadline = time.monotonic() + 60
    body = client.get(f"/api/v1/jobs/{job_id}").json()
    while body["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)  # the background worker claimed it first
        body = client.get(f"/api/v1/jobs/{job_id}").json()
    assert body["status"] == "done", body
    result: dict[str, Any] = body["result"]
    return result
