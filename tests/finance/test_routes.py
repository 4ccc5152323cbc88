"""Every finance route as every role (the shared matrix's check, run over this package's
rows alone): those not allowed get 401/403, those allowed never do and never get a 5xx."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from kechuang.db import unit_of_work
from tests.conftest import login
from tests.security.routes_finance import ROUTES, samples

ACCOUNT = {
    "bureau_admin": "admin",
    "bureau_staff": "staff",
    "department": "tax",
    "enterprise": "ent1",
    "institute": "inst",
    "expert": "expert",
    "bank": "bank",
}
ROLES = sorted([*ACCOUNT, "public"])


@pytest.mark.parametrize("role", ROLES)
def test_finance_routes_as_every_role(app, engine, role):
    with unit_of_work(engine) as s:
        values = samples(s)
    client = TestClient(app)
    if role == "public":
        client.get("/login")
        csrf = client.cookies.get("kc_csrf") or ""
    else:
        csrf = login(client, ACCOUNT[role])
    for key, allowed in ROUTES.items():
        method, path = key.split(" ", 1)
        url = re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)
        r = client.request(method, url, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        loc = r.headers.get("location", "")
        denied = (
            r.status_code == 401 or (r.status_code == 303 and loc.startswith("/login"))
            if role == "public"
            else r.status_code == 403
        )
        if role in allowed:
            assert not denied, f"{role} refused at {key}"
            assert r.status_code < 500, f"{key} as {role}: {r.text[:300]}"
        else:
            assert denied, f"{role} got {r.status_code} at {key}"
