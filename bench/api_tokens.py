"""What an API token costs per request (issue 11 item 9): the same JSON reads by a browser
session (cookie) and by a bearer token, whose every use also writes an audit row and moves
``last_used_at`` in a short transaction of its own.

    PYTHONPATH=src .venv/bin/python bench/api_tokens.py [--requests 300] [--demo 200]

Builds a demo county in a throwaway SQLite file (or uses ``--url`` of a PostgreSQL
database already initialised with ``kechuang init --demo``). Prints milliseconds per
request for each path and way; figures go to docs/benchmarks.md with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from kechuang.app import create_app
from kechuang.auth.actor import Actor
from kechuang.auth.tokens import do_create_token
from kechuang.bootstrap import initialise
from kechuang.db import unit_of_work

PASSWORD = "demo-pass-2024"
PATHS = ("/api/v1/me", "/api/v1/enterprises?limit=50")


def _login(client: TestClient, username: str) -> None:
    client.get("/login")
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": client.cookies.get("kc_csrf") or "",
                                    "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _time(client: TestClient, path: str, n: int, headers: dict[str, str]) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--demo", type=int, default=200)
    parser.add_argument("--url", help="an initialised database (else a throwaway SQLite)")
    args = parser.parse_args()
    url = args.url
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="kc-tokens-"))
        url = f"sqlite:///{folder / 'k.sqlite3'}"
        os.environ["KECHUANG_DATABASE_URL"] = url
        engine = create_engine(url)
        initialise(engine, demo=args.demo)
    else:
        engine = create_engine(url)
    with unit_of_work(engine) as s:
        secret = do_create_token(s, Actor.command_line(), username="staff", name="bench",
                                 days=1).secret
    app = create_app(engine)
    cookie = TestClient(app)
    _login(cookie, "staff")
    bearer = TestClient(app)
    print(f"database: {engine.url.get_backend_name()}, {args.requests} requests per cell")
    for path in PATHS:
        for way, client, headers in (("cookie", cookie, {}),
                                     ("token", bearer, {"Authorization": f"Bearer {secret}"})):
            _time(client, path, 20, headers)  # warm up
            ms = _time(client, path, args.requests, headers)
            print(f"{path:<32} {way:<7} median {statistics.median(ms):6.2f} ms   "
                  f"p95 {sorted(ms)[int(len(ms) * 0.95)]:6.2f} ms")


if __name__ == "__main__":
    main()
