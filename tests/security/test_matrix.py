"""The role × endpoint matrix: nobody reads or writes outside their role and region.

``EXPECTED`` is this test's own statement of who may call what. The test proves three
things: every route of the application is in the table (a new route cannot slip in
unguarded); each route's declared ``allow(...)`` equals the table; and calling every route
as every role really gives 401/403 (or the login redirect) to those not allowed and never to
those allowed. Region scope is proved separately: an administrator of the neighbouring
county (常熟) and an enterprise account get 404 for 张家港's enterprises.

Each capability package keeps its rows in its own ``tests/security/routes_<package>.py``
(``ROUTES`` — the same shape as ``EXPECTED`` — and optionally ``samples(session)`` giving
values for its path parameters); they are merged here, and a route named twice is an error.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.models import ImportBatch, User
from kechuang.web.deps import allowed_roles_of
from tests.conftest import login
from tests.support.seed import uscc

ALL = {"bureau_admin", "bureau_staff", "department", "enterprise", "institute", "expert", "bank",
       "public"}
LOGGED_IN = ALL - {"public"}
BUREAU = {"bureau_admin", "bureau_staff"}
ADMIN = {"bureau_admin"}
INTAKE = BUREAU | {"department"}

EXPECTED: dict[str, set[str]] = {
    "GET /": ALL,
    "GET /healthz": ALL,
    "GET /login": ALL,
    "POST /login": ALL,
    "POST /logout": LOGGED_IN,
    "GET /lang/{code}": ALL,
    "GET /api/v1/me": ALL,
    "GET /login/totp": ALL,
    "POST /login/totp": ALL,
    "GET /account": LOGGED_IN,
    "POST /account/password": LOGGED_IN,
    "POST /account/totp/start": LOGGED_IN,
    "POST /account/totp/confirm": LOGGED_IN,
    "POST /account/totp/disable": LOGGED_IN,
    # departmental imports
    "GET /imports": INTAKE,
    "GET /imports/new": INTAKE,
    "POST /imports": INTAKE,
    "GET /imports/{batch_id}": INTAKE,
    "POST /imports/{batch_id}/rollback": INTAKE,
    "GET /import-reports/{report_id}.xlsx": INTAKE,
    "GET /import-templates": INTAKE,
    "GET /import-templates/{name}": INTAKE,
    "POST /import-templates/{name}": ADMIN,
    "GET /api/v1/imports": INTAKE,
    "GET /api/v1/imports/{batch_id}": INTAKE,
    "POST /api/v1/imports": INTAKE,
    # enterprises: banks and experts are admitted to the detail (their reads are audited)
    # but see only consenting / assigned enterprises — none yet, so 404
    "GET /enterprises": BUREAU,
    "GET /api/v1/enterprises": BUREAU,
    "GET /enterprises/me": {"enterprise"},
    "GET /enterprises/{uscc}": BUREAU | {"enterprise", "bank", "expert"},
    "GET /api/v1/enterprises/{uscc}": BUREAU | {"enterprise", "bank", "expert"},
    # policies: the overview and runs for the bureau; an enterprise's verdicts with the
    # detail's roles and scope (banks and experts see no enterprise yet, so 404)
    "GET /policies": BUREAU,
    "POST /policies/run": BUREAU,
    "GET /enterprises/{uscc}/policies": BUREAU | {"enterprise", "bank", "expert"},
    "GET /api/v1/enterprises/{uscc}/policies": BUREAU | {"enterprise", "bank", "expert"},
    # administration
    "GET /audit": ADMIN,
    "GET /users": ADMIN,
    "POST /users": ADMIN,
    "POST /users/{user_id}/revoke-sessions": ADMIN,
    "POST /users/{user_id}/deactivate": ADMIN,
    "POST /users/{user_id}/activate": ADMIN,
    "POST /users/{user_id}/reset-password": ADMIN,
    "GET /security-events": ADMIN,
}


def _route_modules() -> list:  # type: ignore[type-arg]
    here = Path(__file__).parent
    return [importlib.import_module(f"tests.security.{m.name}")
            for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("routes_")]


for _module in _route_modules():
    _twice = set(EXPECTED) & set(_module.ROUTES)
    assert not _twice, f"{_module.__name__} repeats rows: {sorted(_twice)}"
    EXPECTED.update(_module.ROUTES)

#: one account per role (the seed's), and who stands for the role in the matrix
ACCOUNT_OF_ROLE = {
    "bureau_admin": "admin",
    "bureau_staff": "staff",
    "department": "tax",
    "enterprise": "ent1",
    "institute": "inst",
    "expert": "expert",
    "bank": "bank",
}

SKIPPED_PREFIXES = ("/static", "/api/openapi.json", "/api/docs")


def _walk(routes, prefix: str = ""):  # type: ignore[no-untyped-def]
    """Every APIRoute with its full path. FastAPI keeps included routers as wrappers
    (``original_router`` + ``include_context.prefix``), so the walk descends into them."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes,
                             prefix + route.include_context.prefix)


def _routes(app) -> list[tuple[str, APIRoute]]:  # type: ignore[no-untyped-def]
    found = [(path, r) for path, r in _walk(app.routes) if not path.startswith(SKIPPED_PREFIXES)]
    assert len(found) > 20, "route discovery found too few routes: the walk is broken"
    return found


def _keys(path: str, route: APIRoute) -> list[str]:
    return [f"{m} {path}" for m in sorted(route.methods - {"HEAD"})]


def test_every_route_is_in_the_matrix(app):
    actual = {k for path, r in _routes(app) for k in _keys(path, r)}
    assert actual - set(EXPECTED) == set(), "routes missing from the matrix"
    assert set(EXPECTED) - actual == set(), "matrix names routes that no longer exist"


def test_declared_roles_equal_the_matrix(app):
    for path, route in _routes(app):
        calls = [d.call for d in route.dependant.dependencies]
        declared = allowed_roles_of(calls)
        for key in _keys(path, route):
            assert declared is not None, f"{key} declares no roles"
            assert set(declared) == EXPECTED[key], key


@pytest.fixture
def samples(engine) -> dict[str, str]:
    """Values for path parameters: objects inside 张家港 that exist in the seed."""
    with unit_of_work(engine) as s:
        tax = s.scalar(select(User).where(User.username == "tax"))
        batch = ImportBatch(template="tax", department_code="tax", filename="m.csv",
                            content_hash="x" * 64, layout="wide", region_code="320582",
                            created_by=tax.id)
        s.add(batch)
        s.flush()
        staff_id = s.scalar(select(User.id).where(User.username == "staff"))
        values = {"uscc": uscc(2), "id": str(batch.id), "batch_id": str(batch.id),
                  "user_id": str(staff_id), "name": "tax", "code": "en", "report_id": "1"}
        for module in _route_modules():
            if hasattr(module, "samples"):
                values.update(module.samples(s))
        return values


def _fill(path: str, samples: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        return samples.get(name, "1")

    return re.sub(r"\{([^}]+)\}", sub, path)


def _is_denied(status: int, location: str, role: str) -> bool:
    if role == "public":
        return status == 401 or (status == 303 and location.startswith("/login"))
    return status == 403


@pytest.mark.parametrize("role", sorted(ALL))
def test_every_route_as_every_role(app, engine, samples, role):
    client = TestClient(app)
    csrf = login(client, ACCOUNT_OF_ROLE[role]) if role != "public" else None
    if csrf is None:
        client.get("/login")
        csrf = client.cookies.get("kc_csrf")
    for path, route in _routes(app):
        for key in _keys(path, route):
            method = key.split()[0]
            if key == "POST /logout":
                continue  # would end this client's session; covered in tests/auth
            url = _fill(path, samples)
            response = client.request(method, url, headers={"X-CSRF-Token": csrf or ""},
                                      follow_redirects=False)
            denied = _is_denied(response.status_code, response.headers.get("location", ""), role)
            if role in EXPECTED[key]:
                assert not denied, f"{role} refused at {key}: {response.status_code}"
                assert response.status_code < 500, f"{key} as {role}: {response.text[:300]}"
            else:
                assert denied, f"{role} got {response.status_code} at {key}"


def test_unsafe_requests_without_csrf_token_are_refused(app, engine, samples):
    client = TestClient(app)
    login(client, "admin")
    for path, route in _routes(app):
        for key in _keys(path, route):
            method = key.split()[0]
            if method in {"GET"} or key in {"POST /login"}:
                continue
            response = client.request(method, _fill(path, samples), follow_redirects=False)
            assert response.status_code == 403, f"{key} accepted a request without CSRF token"


@pytest.mark.parametrize("account", ["other_admin", "ent1", "bank", "expert"])
def test_enterprises_outside_scope_are_invisible(app, engine, samples, account):
    client = TestClient(app)
    login(client, account)
    for path in ("/enterprises/{uscc}", "/api/v1/enterprises/{uscc}"):
        assert any(p == path for p, _ in _routes(app)), f"{path} is not mounted"
        r = client.get(_fill(path, samples))
        assert r.status_code == 404, (account, path, r.status_code)


@pytest.mark.parametrize(("account", "n"), [("ent1", 1), ("admin", 2), ("staff", 3)])
def test_enterprises_inside_scope_are_visible(app, engine, account, n):
    client = TestClient(app)
    login(client, account)
    for path in (f"/enterprises/{uscc(n)}", f"/api/v1/enterprises/{uscc(n)}"):
        assert client.get(path).status_code == 200, (account, path)
