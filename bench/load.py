"""Load benchmark (issue 17 item 1): 200 concurrent clients for 60 s against ``kechuang serve``
on SQLite or PostgreSQL, over a mix of pages, API reads and a few writes (logins, which write
a session, an audit row and a security event). Loopback only; every loop is bounded by the
duration. Passes when no answer is a server error (5xx other than 503) and no request fails
to connect; 503 + Retry-After (overload) is counted separately.

    .venv/bin/python bench/load.py --backend sqlite            # builds a demo county of 300
    .venv/bin/python bench/load.py --backend postgres          # throwaway cluster
    .venv/bin/python bench/load.py --url http://127.0.0.1:8108 # an already running server

Figures go to docs/benchmarks.md with the command, the machine and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKDIR = Path("/tmp/h-security/load")
PASSWORD = "demo-pass-2024"
#: (weight, method, path, account roles that may call it)
MIX = [
    (20, "GET", "/", None),
    (15, "GET", "/api/v1/me", None),
    (15, "GET", "/healthz", None),
    (15, "GET", "/enterprises", {"admin", "staff"}),
    (15, "GET", "/api/v1/enterprises", {"admin", "staff"}),
    (5, "GET", "/imports", {"admin", "staff", "tax"}),
    (5, "GET", "/audit", {"admin"}),
    (5, "GET", "/matching", None),
    (5, "GET", "/login", None),
]
ACCOUNTS = ["admin", "staff", "staff", "enterprise", "tax", "institute"]
WRITE_EVERY = 25  # one login (a write) per 25 requests of a client
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


async def _login(client: httpx.AsyncClient, username: str) -> int:
    page = await client.get("/login")
    m = _CSRF.search(page.text)
    token = m.group(1) if m else ""
    r = await client.post("/login", data={"username": username, "password": PASSWORD,
                                          "csrf_token": token, "next": "/"})
    return r.status_code


async def _client(base: str, n: int, start_at: asyncio.Event, deadline: list[float],
                  logins: asyncio.Semaphore, stats: dict, lat: list) -> None:  # type: ignore[type-arg]
    username = ACCOUNTS[n % len(ACCOUNTS)]
    rng = random.Random(n)
    choices = [(w, m, p) for w, m, p, roles in MIX if roles is None or username in roles]
    weights = [w for w, _, _ in choices]
    # idle connections are dropped well before the server's 5 s keep-alive timeout
    limits = httpx.Limits(keepalive_expiry=1)
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False,
                                 limits=limits) as c:
        # logging in (Argon2id: deliberately costly) is set-up, outside the measured minute
        async with logins:
            for _ in range(20):
                if await _login(c, username) == 303:
                    break
                await asyncio.sleep(1)
        home = await c.get("/")
        m = _CSRF.search(home.text)
        csrf = m.group(1) if m else ""
        stats["ready"] = stats.get("ready", 0) + 1
        await start_at.wait()
        i = 0
        while time.monotonic() < deadline[0]:
            i += 1
            start = time.monotonic()
            try:
                if i % WRITE_EVERY == 3:  # the 3rd, 28th, … request of each client
                    # a short write: a fresh (unconfirmed) TOTP secret and its audit row
                    r = await c.post("/account/totp/start", data={"csrf_token": csrf})
                    kind = "write"
                else:
                    _, method, path = rng.choices(choices, weights)[0]
                    r = await c.request(method, path)
                    kind = "read"
                status = r.status_code
            except httpx.HTTPError as exc:
                stats["failed"] = stats.get("failed", 0) + 1
                stats.setdefault("failures", []).append(type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            lat.append(time.monotonic() - start)
            key = f"{kind}:{status}"
            stats[key] = stats.get(key, 0) + 1
            if status == 503:
                await asyncio.sleep(float(r.headers.get("retry-after", "1")))


async def run(base: str, clients: int, seconds: float) -> dict:  # type: ignore[type-arg]
    stats: dict = {}  # type: ignore[type-arg]
    lat: list[float] = []
    start_at = asyncio.Event()
    deadline = [0.0]
    logins = asyncio.Semaphore(8)
    tasks = [asyncio.create_task(_client(base, n, start_at, deadline, logins, stats, lat))
             for n in range(clients)]
    t_login = time.monotonic()
    while stats.get("ready", 0) < clients and time.monotonic() - t_login < 600:
        await asyncio.sleep(0.5)
    login_seconds = time.monotonic() - t_login
    t0 = time.monotonic()
    deadline[0] = t0 + seconds
    start_at.set()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t0
    lat.sort()
    total = len(lat)
    server_errors = sum(v for k, v in stats.items() if ":" in k
                        and k.split(":")[-1].startswith("5") and not k.endswith(":503"))
    return {"login_setup_s": login_seconds, "requests": total, "elapsed": elapsed,
            "rps": total / elapsed,
            "p50_ms": 1000 * lat[total // 2] if total else None,
            "p95_ms": 1000 * lat[int(total * 0.95)] if total else None,
            "server_errors": server_errors,
            "overloaded_503": sum(v for k, v in stats.items() if k.endswith(":503")),
            "connection_failures": stats.get("failed", 0),
            "failure_kinds": sorted(set(stats.get("failures", []))),
            "by_status": {k: v for k, v in sorted(stats.items()) if ":" in k}}


def _serve(url: str, port: int, env_extra: dict[str, str]) -> subprocess.Popen:  # type: ignore[type-arg]
    env = {**os.environ, "KECHUANG_DATABASE_URL": url, **env_extra}
    kc = str(ROOT / ".venv" / "bin" / "kechuang")
    subprocess.run([kc, "init", "--demo", "300"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = open(WORKDIR / "serve.log", "w")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen([kc, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("server did not start; see " + str(WORKDIR / "serve.log"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--url", help="base URL of a running server (skips setting one up)")
    parser.add_argument("--port", type=int, default=8108)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    proc = cluster = None
    base = args.url
    if base is None:
        if args.backend == "sqlite":
            db = WORKDIR / "load.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            url = f"sqlite:///{db}"
        else:
            from tests.support.pgcluster import start_cluster

            cluster = start_cluster()
            eng = create_engine(cluster.admin_url)
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("CREATE DATABASE load"))
            eng.dispose()
            url = cluster.url("load")
        proc = _serve(url, args.port, {"KECHUANG_CACHE_DIR": str(WORKDIR / "cache")})
        base = f"http://127.0.0.1:{args.port}"
    try:
        result = asyncio.run(run(base, args.clients, args.seconds))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if cluster is not None:
            cluster.stop()
    load = os.getloadavg()
    print(f"backend={args.backend} clients={args.clients} seconds={args.seconds:.0f}")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average after: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for key, value in result.items():
        print(f"  {key}: {value:.1f}" if isinstance(value, float) else f"  {key}: {value}")
    if result["server_errors"] or result["connection_failures"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
