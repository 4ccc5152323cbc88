"""Availability under load (issue 17 item 1): overload is a 503 with Retry-After — never a
500 or a hang — whether the wait is for a worker, a pooled connection or SQLite's write
lock; connections go back to the pool."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from kechuang.app import create_app
from kechuang.config import Settings
from kechuang.db import make_engine
from tests.conftest import BACKEND, login, page_csrf
from tests.support.seed import PASSWORD


def _scope(method: str, path: str, headers: list) -> dict:  # type: ignore[type-arg]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "state": {}}


def test_requests_beyond_the_workers_wait_then_get_503_with_retry_after(app_with):
    app = app_with(web_threads=1, request_queue_seconds=0.3, retry_after_seconds=7)

    async def scenario() -> tuple[int, dict]:  # type: ignore[type-arg]
        release = asyncio.Event()

        async def slow_body():  # type: ignore[no-untyped-def]
            await release.wait()
            return {"type": "http.request", "body": b"", "more_body": False}

        async def ignore(_message):  # type: ignore[no-untyped-def]
            return None

        # the one worker is taken by a request whose body never arrives …
        hog = asyncio.create_task(app(_scope("POST", "/login", [
            (b"content-type", b"application/x-www-form-urlencoded")]), slow_body, ignore))
        await asyncio.sleep(0.05)
        sent: list[dict] = []  # type: ignore[type-arg]

        async def nothing():  # type: ignore[no-untyped-def]
            return {"type": "http.request", "body": b"", "more_body": False}

        async def record(message):  # type: ignore[no-untyped-def]
            sent.append(message)

        await app(_scope("GET", "/healthz", []), nothing, record)
        release.set()
        await hog
        start = next(m for m in sent if m["type"] == "http.response.start")
        return start["status"], dict(start["headers"])

    status, headers = _run_off_loop(scenario())
    assert status == 503
    assert headers[b"retry-after"] == b"7"


def test_no_free_database_connection_is_a_503(app_with, engine):
    app_with(db_pool_size=1, db_max_overflow=0, web_threads=1, db_pool_timeout=0.2)
    small = make_engine(engine.url.render_as_string(hide_password=False))
    client = TestClient(create_app(small))
    login(client, "staff")
    held = small.connect()  # the only connection is busy elsewhere
    try:
        r = client.get("/api/v1/enterprises")  # JSON: the API's answer
        assert r.status_code == 503, r.text
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"] == "overloaded"
        assert client.get("/healthz").status_code == 503
    finally:
        held.close()
    assert client.get("/healthz").status_code == 200
    small.dispose()


def test_a_burst_of_requests_gets_no_500_and_returns_every_connection(app_with):
    """The reproduction: 120 concurrent GET /api/v1/me as one enterprise account gave 79 ×
    500 (pool exhausted). With workers ≤ connections every answer is 200 or 503."""
    app = app_with(db_pool_size=4, db_max_overflow=0, web_threads=4, db_pool_timeout=2,
                   request_queue_seconds=30)
    with TestClient(app) as client:
        login(client, "ent1")
        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(lambda _: client.get("/api/v1/me").status_code,
                                     range(120)))
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) > 0
    assert app.state.engine.pool.checkedout() == 0


def test_workers_may_not_outnumber_connections():
    with pytest.raises(ValidationError, match="web_threads"):
        Settings(web_threads=30, db_pool_size=10, db_max_overflow=5)


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single write lock")
def test_a_login_during_a_long_write_is_a_503_not_a_500(app_with, engine):
    """The reproduction: a long import held SQLite's write lock beyond the busy timeout and
    a login meanwhile got 500 "database is locked". Now it is a 503 with Retry-After."""
    app_with(sqlite_busy_timeout_ms=200)
    short = make_engine(engine.url.render_as_string(hide_password=False))
    client = TestClient(create_app(short))
    token = page_csrf(client.get("/login").text)
    writer = sqlite3.connect(engine.url.database, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # the long import's write lock
    try:
        r = client.post("/login", data={"username": "staff", "password": PASSWORD,
                                        "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 503, r.text[:300]
        assert "retry-after" in r.headers
    finally:
        writer.rollback()
        writer.close()
    r = client.post("/login", data={"username": "staff", "password": PASSWORD,
                                    "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    short.dispose()


def _run_off_loop(coro):  # type: ignore[no-untyped-def]
    """asyncio.run in a thread of its own: a browser test earlier in the same worker may
    have left Playwright's event loop running in this thread."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
