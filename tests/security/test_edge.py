"""The edge of the application (issue 17 items 3 and 7): body limits before storage and
before authentication, lone surrogates, trusted proxies, HTTPS headers and cookies."""

from __future__ import annotations

import asyncio
import concurrent.futures
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from kechuang.app import has_lone_surrogate
from kechuang.db import unit_of_work
from kechuang.models import LoginAttempt
from kechuang.models.security import SecurityEvent
from tests.conftest import login, page_csrf
from tests.support.seed import PASSWORD

CHUNK = 64 * 1024


def _call(app, method: str, path: str, headers: list[tuple[bytes, bytes]],
          chunks: int) -> tuple[int, int, dict[bytes, bytes]]:
    """Drive the ASGI app directly with a body of ``chunks`` × 64 KiB streamed without a
    Content-Length; returns (status, chunks the app pulled, response headers)."""
    pulled = 0
    sent: list[dict] = []

    async def receive():  # type: ignore[no-untyped-def]
        nonlocal pulled
        if pulled >= chunks:
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": pulled < chunks}

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "state": {}}
    _run_off_loop(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], pulled, dict(start["headers"])


def _tmp_bytes() -> int:
    return sum(p.stat().st_size for p in Path(tempfile.gettempdir()).glob("tmp*")
               if p.is_file())


def test_declared_oversize_upload_is_refused_before_reading_or_authenticating(app_with):
    app = app_with(max_body_bytes=1024 * 1024)
    status, pulled, _ = _call(app, "POST", "/api/v1/imports", [
        (b"content-type", b"multipart/form-data; boundary=xyz"),
        (b"content-length", str(1024**3).encode())], chunks=16_384)
    assert status == 413  # not 401: the limit comes before authentication
    assert pulled == 0


def test_streamed_oversize_upload_stops_at_the_limit(app_with):
    """The reproduction: an anonymous 1 GB upload was spooled to /tmp before the 401. Now
    the app pulls no more than the limit (1 MiB = 16 chunks) and answers 413."""
    app = app_with(max_body_bytes=1024 * 1024)
    before = _tmp_bytes()
    status, pulled, _ = _call(app, "POST", "/api/v1/imports", [
        (b"content-type", b"multipart/form-data; boundary=xyz")], chunks=16_384)
    assert status in (413, 401, 400, 422)
    assert pulled <= 17, f"read {pulled} chunks of a body larger than the limit"
    assert _tmp_bytes() - before < 2 * 1024 * 1024


def test_a_form_post_has_a_small_limit_of_its_own(app_with):
    app = app_with(max_form_body_bytes=64 * 1024)
    status, pulled, _ = _call(app, "POST", "/login", [
        (b"content-type", b"application/x-www-form-urlencoded")], chunks=1000)
    assert status == 413 and pulled <= 2


def test_a_lone_surrogate_in_json_is_a_422_not_a_500(client):
    csrf = login(client, "staff")
    for body in ('{"title": "\\ud800"}', '{"title": "x\\udc00y"}', '["\\uD83D"]'):
        r = client.post("/api/v1/dispatch/runs", content=body.encode(),
                        headers={"content-type": "application/json", "x-csrf-token": csrf})
        assert r.status_code == 422, (body, r.status_code, r.text[:200])
        assert "surrogate" in r.json()["message_en"]
    assert has_lone_surrogate(b'"\\ud83d"')
    assert not has_lone_surrogate(b'"\\ud83d\\ude00"')  # a pair is a valid emoji
    assert not has_lone_surrogate(b'"\\\\ud800"')  # an escaped backslash, then text


def test_nul_in_query_is_refused(client):
    assert client.get("/enterprises?q=a%00b").status_code == 422


def _login_failures(client: TestClient, username: str, n: int, headers: dict) -> int:
    token = page_csrf(client.get("/login").text)
    last = 0
    for _ in range(n):
        last = client.post("/login", data={"username": username, "password": "wrong-pass-99",
                                           "csrf_token": token}, headers=headers).status_code
    return last


def test_forwarded_address_is_believed_only_from_a_trusted_proxy(app_with, engine):
    app = app_with(trusted_proxies=["127.0.0.0/8"])
    client = TestClient(app, client=("127.0.0.1", 1234))
    _login_failures(client, "staff", 1, {"X-Forwarded-For": "203.0.113.7"})
    untrusted = TestClient(app, client=("192.0.2.50", 1234))
    _login_failures(untrusted, "staff", 1, {"X-Forwarded-For": "203.0.113.8"})
    with unit_of_work(engine) as s:
        ips = set(s.scalars(select(LoginAttempt.ip)))
    assert ips == {"203.0.113.7", "192.0.2.50"}


def test_behind_a_proxy_one_attacker_does_not_lock_out_the_site(app_with):
    """Without the trusted-proxy setting every client has the proxy's address, so the
    per-address limit would lock everybody out; with it, only the attacker is limited."""
    app = app_with(trusted_proxies=["127.0.0.1"])
    attacker = TestClient(app, client=("127.0.0.1", 1))
    assert _login_failures(attacker, "nobody", 25, {"X-Forwarded-For": "198.51.100.1"}) == 429
    colleague = TestClient(app, client=("127.0.0.1", 2))
    token = page_csrf(colleague.get("/login").text)
    r = colleague.post("/login", data={"username": "staff", "password": PASSWORD,
                                       "csrf_token": token},
                       headers={"X-Forwarded-For": "198.51.100.2"}, follow_redirects=False)
    assert r.status_code == 303


def test_https_behind_a_proxy_gets_hsts_and_secure_cookies(app_with):
    app = app_with(trusted_proxies=["127.0.0.1"])
    client = TestClient(app, client=("127.0.0.1", 1))
    r = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in r.headers["strict-transport-security"]
    assert all("Secure" in c for c in r.headers.get_list("set-cookie"))
    plain = client.get("/login")
    assert "strict-transport-security" not in plain.headers
    assert not any("Secure" in c for c in plain.headers.get_list("set-cookie"))
    # a client that is not the proxy cannot claim HTTPS
    other = TestClient(app, client=("192.0.2.9", 1))
    assert "strict-transport-security" not in other.get(
        "/login", headers={"X-Forwarded-Proto": "https"}).headers


def test_a_direct_https_request_is_secure_too(app_with):
    client = TestClient(app_with(), base_url="https://testserver")
    r = client.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    assert all("Secure" in c for c in r.headers.get_list("set-cookie"))
    assert r.headers["x-frame-options"] == "DENY"


def test_oversize_refusals_write_nothing(app_with, engine):
    app = app_with(max_body_bytes=1024 * 1024)
    _call(app, "POST", "/api/v1/imports", [
        (b"content-type", b"multipart/form-data; boundary=xyz")], chunks=100)
    with unit_of_work(engine) as s:
        assert s.scalar(select(SecurityEvent.id).where(SecurityEvent.kind == "login.ok")) is None


def _run_off_loop(coro):  # type: ignore[no-untyped-def]
    """asyncio.run in a thread of its own: a browser test earlier in the same worker may
    have left Playwright's event loop running in this thread."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
