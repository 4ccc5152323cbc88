"""API tokens of department systems (issue 11 item 9): an administrator makes one for an
account of their region (the secret shown once, a hash stored), a department's system
imports a file with it, every use is audited, a revoked, expired or unknown token is
refused at once with a clear 401 and a security event, a token acts only within its
account's role and region, never on pages, and the OpenAPI document names the scheme."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kechuang.auth.actor import Actor
from kechuang.auth.service import do_create_user
from kechuang.db import unit_of_work
from kechuang.models import AuditEvent, ImportBatch, User, utcnow
from kechuang.models.security import ApiToken, SecurityEvent
from tests.conftest import login, page_csrf
from tests.ingest.helpers import GOOD_ROWS, csv_bytes
from tests.support.seed import HOME_TOWN, PASSWORD, uscc


def _admin(client: TestClient, who: str = "admin") -> dict[str, str]:
    return {"X-CSRF-Token": login(client, who)}


def _create(client: TestClient, headers: dict[str, str], username: str, days: int = 30,
            name: str = "税务局数据接口") -> dict[str, Any]:
    r = client.post("/api/v1/api-tokens", json={"username": username, "name": name,
                                                 "days": days}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _events(engine, kind: str) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        rows = list(s.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)
                              .order_by(SecurityEvent.id)))
        s.expunge_all()
        return rows


def _follow_job(system: TestClient, secret: str, body: dict[str, Any],
                location: str | None) -> dict[str, Any]:
    """If the import answered with a job (its id, or a ``Location`` naming it), poll the
    job's JSON with the token until it ends, and return the job's result."""
    job_id = body.get("job_id") or (body.get("job") or {}).get("id")
    if job_id is None and location and "/jobs/" in location:
        job_id = location.rstrip("/").rsplit("/", 1)[-1]
    if job_id is None:
        return body
    deadline = time.monotonic() + 120
    while True:
        job = system.get(f"/api/v1/jobs/{job_id}", headers=_bearer(secret)).json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["status"] == "done", job
    return dict(job["result"] or {})


def test_admin_makes_a_token_and_a_department_system_imports_with_it(app, engine) -> None:
    admin = TestClient(app)
    created = _create(admin, _admin(admin), "tax")
    secret = created["secret"]
    assert secret.startswith("kct_") and len(secret) >= 40
    assert created["prefix"] == secret[:12] and created["state"] == "active"
    assert created["username"] == "tax" and created["role"] == "department"
    with unit_of_work(engine) as s:  # stored as its SHA-256, never as the secret itself
        row = s.get(ApiToken, created["id"])
        assert row is not None
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.token_hash, row.prefix, row.name)
        assert row.expires_at - utcnow() <= timedelta(days=30)
    # the list never shows a secret again
    listed = admin.get("/api/v1/api-tokens").json()
    assert [t["prefix"] for t in listed] == [created["prefix"]] and "secret" not in listed[0]

    # the department's system: no cookie, no CSRF token, only the bearer header
    system = TestClient(app)
    me = system.get("/api/v1/me", headers=_bearer(secret)).json()
    assert (me["username"], me["role"], me["region_code"]) == ("tax", "department", "320582")
    r = system.post("/api/v1/imports", data={"template": "tax", "as_job": "true"},
                    headers=_bearer(secret),
                    files={"file": ("tax-2023.csv", csv_bytes(GOOD_ROWS), "text/csv")})
    # submitted as a job, followed as a job with the same token
    assert r.status_code == 202, r.text
    assert "/jobs/" in (r.headers.get("location") or "")
    result = _follow_job(system, secret, r.json(), r.headers.get("location"))
    batch_id = result["batch_id"]
    assert batch_id is not None
    detail = system.get(f"/api/v1/imports/{batch_id}", headers=_bearer(secret)).json()
    assert detail["status"] == "committed" and detail["facts_new"] == 5
    with unit_of_work(engine) as s:
        batch = s.get(ImportBatch, batch_id)
        tax_id = s.scalar(select(User.id).where(User.username == "tax"))
        assert batch is not None and batch.created_by == tax_id
        # every use is an audit row naming the token's prefix, the method and the path
        uses = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.use")
                              .order_by(AuditEvent.id)))
        assert [(u.actor, u.after["prefix"], u.after["method"], u.after["path"])  # type: ignore[index]
                for u in uses[:2]] == [
            ("tax", created["prefix"], "GET", "/api/v1/me"),
            ("tax", created["prefix"], "POST", "/api/v1/imports")]
        assert s.get(ApiToken, created["id"]).last_used_at is not None  # type: ignore[union-attr]


def test_a_revoked_token_is_refused_at_once(app, engine) -> None:
    admin = TestClient(app)
    headers = _admin(admin)
    created = _create(admin, headers, "tax")
    system = TestClient(app)
    assert system.get("/api/v1/imports", headers=_bearer(created["secret"])).status_code == 200
    r = admin.post(f"/api/v1/api-tokens/{created['id']}/revoke", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = system.get("/api/v1/imports", headers=_bearer(created["secret"]))
    assert r.status_code == 401
    assert r.json()["error"] == "token_refused" and "撤销" in r.json()["message"]
    assert r.json()["details"] == {"why": "revoked"}
    refused = _events(engine, "token.refused")
    assert refused[-1].detail == {"token": created["prefix"], "why": "revoked"}
    assert refused[-1].username == "tax" and refused[-1].path == "/api/v1/imports"
    # revoking twice is a conflict, not a second audit row
    assert admin.post(f"/api/v1/api-tokens/{created['id']}/revoke",
                      headers=headers).status_code == 409


def test_an_expired_or_unknown_token_is_refused(app, engine) -> None:
    admin = TestClient(app)
    created = _create(admin, _admin(admin), "tax", days=1)
    with unit_of_work(engine) as s:
        s.execute(update(ApiToken).where(ApiToken.id == created["id"])
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    system = TestClient(app)
    r = system.get("/api/v1/imports", headers=_bearer(created["secret"]))
    assert r.status_code == 401 and "过期" in r.json()["message"]
    r = system.get("/api/v1/imports", headers=_bearer("kct_" + "x" * 43))
    assert r.status_code == 401 and r.json()["error"] == "token_refused"
    whys = [e.detail["why"] for e in _events(engine, "token.refused")]  # type: ignore[index]
    assert whys == ["expired", "unknown"]
    # the refusal is also one of the refused requests every 401 records
    assert len(_events(engine, "refused.401")) >= 2
    with unit_of_work(engine) as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "api_token.use")) \
            is None


def test_a_token_never_opens_a_page(app, engine) -> None:
    admin = TestClient(app)
    created = _create(admin, _admin(admin), "tax")
    system = TestClient(app)
    r = system.get("/imports", headers=_bearer(created["secret"]), follow_redirects=False)
    assert r.status_code in (303, 401) and "tax-2023" not in r.text
    assert _events(engine, "token.refused")[-1].detail["why"] == "not_api"  # type: ignore[index]


def test_a_town_token_reads_only_its_town(app, engine) -> None:
    with unit_of_work(engine) as s:
        do_create_user(s, Actor.command_line(), username="town_staff", password=PASSWORD,
                       role="bureau_staff", region_code=HOME_TOWN, display_name="杨舍镇")
    admin = TestClient(app)
    secret = _create(admin, _admin(admin), "town_staff")["secret"]
    system = TestClient(app)
    # enterprise 1 lies in 杨舍镇; enterprise 2 in the development zone; 5 in 常熟
    assert system.get(f"/api/v1/enterprises/{uscc(1)}",
                      headers=_bearer(secret)).status_code == 200
    assert system.get(f"/api/v1/enterprises/{uscc(2)}",
                      headers=_bearer(secret)).status_code == 404
    assert system.get(f"/api/v1/enterprises/{uscc(5, '320581')}",
                      headers=_bearer(secret)).status_code == 404
    listed = system.get("/api/v1/enterprises", headers=_bearer(secret)).json()
    text = str(listed)
    assert uscc(1) in text and uscc(2) not in text


def test_a_token_cannot_do_what_its_role_cannot(app, engine) -> None:
    admin = TestClient(app)
    headers = _admin(admin)
    secret = _create(admin, headers, "tax")["secret"]
    system = TestClient(app)
    # a department account reads no enterprise and cannot manage tokens
    assert system.get(f"/api/v1/enterprises/{uscc(1)}",
                      headers=_bearer(secret)).status_code in (403, 404)
    assert system.get("/api/v1/api-tokens", headers=_bearer(secret)).status_code == 403
    r = system.post("/api/v1/api-tokens", headers=_bearer(secret),
                    json={"username": "tax", "name": "x", "days": 1})
    assert r.status_code == 403


def test_who_may_make_tokens_for_whom(app, engine, app_with) -> None:
    admin = TestClient(app)
    headers = _admin(admin)
    r = admin.post("/api/v1/api-tokens", headers=headers,
                   json={"username": "admin", "name": "x", "days": 10})
    assert r.status_code == 422 and "管理员" in r.json()["message"]
    r = admin.post("/api/v1/api-tokens", headers=headers,
                   json={"username": "tax", "name": "x", "days": 366})
    assert r.status_code == 422 and "365" in r.json()["message"]
    created = _create(admin, headers, "tax")
    # the neighbouring county's administrator neither sees nor revokes it, nor makes one
    other = TestClient(app)
    oh = _admin(other, "other_admin")
    assert other.get("/api/v1/api-tokens").json() == []
    assert other.post(f"/api/v1/api-tokens/{created['id']}/revoke",
                      headers=oh).status_code == 404
    assert other.post("/api/v1/api-tokens", headers=oh,
                      json={"username": "tax", "name": "x", "days": 10}).status_code == 404
    # staff manage no tokens
    staff = TestClient(app)
    sh = _admin(staff, "staff")
    assert staff.get("/api/v1/api-tokens").status_code == 403
    assert staff.post("/api/v1/api-tokens", headers=sh,
                      json={"username": "tax", "name": "x", "days": 10}).status_code == 403
    # the longest lifetime is a setting
    short = TestClient(app_with(api_token_max_days=7))
    r = short.post("/api/v1/api-tokens", headers=_admin(short),
                   json={"username": "tax", "name": "x", "days": 8})
    assert r.status_code == 422 and "7" in r.json()["message"]


def test_cookie_requests_still_need_csrf(app, engine) -> None:
    staff = TestClient(app)
    login(staff, "staff")
    r = staff.post("/api/v1/imports", data={"template": "tax"},
                   files={"file": ("t.csv", csv_bytes(GOOD_ROWS), "text/csv")})
    assert r.status_code == 403 and r.json()["error"] == "csrf"


def test_the_admin_page_shows_the_secret_once_and_revokes(app, engine) -> None:
    admin = TestClient(app)
    login(admin, "admin")
    page = admin.get("/api-tokens")
    assert page.status_code == 200 and 'data-testid="create-token"' in page.text
    assert 'value="tax"' in page.text and 'value="admin"' not in page.text
    r = admin.post("/api-tokens", data={"username": "tax", "name": "税务接口", "days": "30",
                                        "csrf_token": page_csrf(page.text)})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    with unit_of_work(engine) as s:
        row = s.scalars(select(ApiToken)).one()
        token_id, prefix = row.id, row.prefix
    assert 'data-testid="token-secret"' in r.text and f">{prefix}" in r.text
    again = admin.get("/api-tokens")
    assert prefix in again.text and 'data-testid="token-secret"' not in again.text
    r = admin.post(f"/api-tokens/{token_id}/revoke",
                   data={"csrf_token": page_csrf(again.text)}, follow_redirects=True)
    assert r.status_code == 200 and "已撤销" in r.text
    with unit_of_work(engine) as s:
        assert s.get(ApiToken, token_id).revoked_at is not None  # type: ignore[union-attr]
    admin.cookies.set("kc_lang", "en")
    english = admin.get("/api-tokens")
    assert "API tokens" in english.text and "Revoked" in english.text


def test_openapi_documents_the_bearer_scheme(client) -> None:
    doc = client.get("/api/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["apiToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "audit" in scheme["description"]
    post = doc["paths"]["/api/v1/imports"]["post"]
    assert {"apiToken": []} in post["security"]
    assert "/api/v1/api-tokens" in doc["paths"]


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic abc", "bearer kct_nothing"])
def test_malformed_authorization_headers_are_not_a_500(client, header: str) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": header})
    assert r.status_code in (200, 401)
    if header.lower().startswith("bearer"):
        assert r.status_code == 401
