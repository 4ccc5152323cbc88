"""Benchmark: the enterprise list page at 100,000 enterprises (goal: p95 <= 150 ms).

Builds a SQLite database with ``kechuang init --demo N`` (the deterministic demo county),
serves it with ``kechuang serve`` in a child process, logs in as the demo bureau
administrator and requests the *full HTML page* (not the HTMX partial, so the filter form's
options are included) over a mix of queries: no filter, name fragment, credit-code prefix,
region, industry, qualification, combined, and deep pages. Reports p50/p95 per mix and
overall. Figures are recorded in docs/bench-notes/list_page.md.

    .venv/bin/python bench/list_page.py                # build (about 45 s) and measure
    .venv/bin/python bench/list_page.py --reuse        # measure an already built database
    .venv/bin/python bench/list_page.py --reuse --analyze   # … with SQLite statistics
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KECHUANG = str(ROOT / ".venv" / "bin" / "kechuang")
DEMO_PASSWORD = "demo-pass-2024"
FRAGMENTS = ["智能", "材料", "机械", "科技", "电子", "化工", "纺织", "医疗", "软件", "新能源",
             "精密", "环保", "数据", "建设", "港城", "华", "德", "信息", "装备", "生物"]


def build(db: Path, n: int, seed: int) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "KECHUANG_DATABASE_URL": f"sqlite:///{db}"}
    start = time.perf_counter()
    subprocess.run([KECHUANG, "init", "--demo", str(n), "--seed", str(seed)], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def queries(db: Path, per_mix: int, rnd: random.Random) -> dict[str, list[str]]:
    """Query strings per mix, drawn from the database itself."""
    con = sqlite3.connect(db)
    usccs = [r[0] for r in con.execute("SELECT uscc FROM enterprise ORDER BY random() LIMIT 2000")]
    regions = [r[0] for r in con.execute(
        "SELECT DISTINCT region_code FROM enterprise WHERE region_code != '320582'")]
    divisions = [r[0] for r in con.execute(
        "SELECT DISTINCT substr(industry_code, 1, 2) FROM enterprise "
        "WHERE industry_code GLOB '[0-9][0-9]*'")]
    sections = [r[0] for r in con.execute(
        "SELECT DISTINCT i.section FROM enterprise e JOIN industry i ON i.code = e.industry_code")]
    total = con.execute("SELECT count(*) FROM enterprise").fetchone()[0]
    con.close()
    quals = ["hte", "tech_sme", "srdi", "little_giant", "rd_institution", "dishonest", "abnormal"]
    industries = divisions + sections
    last_page = max(1, total // 50)

    def pick(seq: list[str]) -> str:
        return rnd.choice(seq)

    mixes: dict[str, list[str]] = {
        "no filter": ["" if i % 2 else f"page={rnd.randint(2, 20)}" for i in range(per_mix)],
        "name fragment": [f"q={pick(FRAGMENTS)}" for _ in range(per_mix)],
        "credit-code prefix": [f"q={pick(usccs)[:rnd.randint(8, 18)]}" for _ in range(per_mix)],
        "region": [f"region={pick(regions)}" for _ in range(per_mix)],
        "industry": [f"industry={pick(industries)}" for _ in range(per_mix)],
        "qualification": [f"qual={pick(quals)}" for _ in range(per_mix)],
        "combined": [
            f"q={pick(FRAGMENTS)}&region={pick(regions)}&industry={pick(industries)}"
            f"&qual={pick(quals)}" if i % 2 else
            f"q={pick(FRAGMENTS)}&industry={pick(divisions)}&page=2"
            for i in range(per_mix)
        ],
        "deep page": [f"page={rnd.randint(last_page // 2, last_page)}" for _ in range(per_mix)],
    }
    return mixes


def login(client: httpx.Client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                    "csrf_token": token, "next": "/"})
    if r.status_code != 303 or "kc_session" not in client.cookies:
        raise RuntimeError(f"login as {username} failed: HTTP {r.status_code}")
    # the request's unit of work may commit just after the response is sent (FastAPI runs
    # yield-dependency cleanup after the response): wait until the session is visible
    for _ in range(50):
        if client.get("/api/v1/me").json()["username"] == username:
            return
        time.sleep(0.1)
    raise RuntimeError("the new session never became visible")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/kechuang-bench-list.sqlite3"))
    ap.add_argument("--n", type=int, default=100_000, help="enterprises")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--requests", type=int, default=200, help="requests per mix")
    ap.add_argument("--reuse", action="store_true", help="measure an existing database")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--analyze", action="store_true",
                    help="give SQLite planner statistics first (ANALYZE); by default the "
                         "database is measured as `kechuang init` leaves it (no statistics)")
    args = ap.parse_args()

    if not args.reuse or not args.db.exists():
        print(f"building {args.n:,} enterprises with kechuang init --demo …", flush=True)
        print(f"  built in {build(args.db, args.n, args.seed):.1f} s", flush=True)
    con = sqlite3.connect(args.db)
    has_stats = bool(con.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()[0])
    if args.analyze and not has_stats:
        start = time.perf_counter()
        con.execute("ANALYZE")
        con.commit()
        has_stats = True
        print(f"ANALYZE (planner statistics): {time.perf_counter() - start:.1f} s")
    elif not args.analyze and has_stats:
        con.execute("DROP TABLE sqlite_stat1")  # measure the plain case
        con.commit()
        has_stats = False
    con.close()
    print(f"planner statistics: {'yes (ANALYZE)' if has_stats else 'none'}", flush=True)
    port = free_port()
    env = {**os.environ, "KECHUANG_DATABASE_URL": f"sqlite:///{args.db}"}
    server = subprocess.Popen([KECHUANG, "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        rnd = random.Random(args.seed)
        mixes = queries(args.db, args.requests, rnd)
        results: dict[str, list[float]] = {}
        with httpx.Client(base_url=base, timeout=30) as client:
            login(client, "admin")
            for q in ["", "q=科技", "industry=C", "qual=hte"] * 5:  # warm-up
                client.get(f"/enterprises?{q}").raise_for_status()
            for name, qs in mixes.items():
                times = []
                for q in qs:
                    start = time.perf_counter()
                    r = client.get(f"/enterprises?{q}")
                    body = r.text
                    times.append((time.perf_counter() - start) * 1000)
                    if r.status_code != 200 or 'data-testid="total"' not in body:
                        raise RuntimeError(f"{q}: HTTP {r.status_code}")
                results[name] = times
    finally:
        server.terminate()
        server.wait(timeout=10)

    every = [t for ts in results.values() for t in ts]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    print(f"{'mix':<20} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    table = {}
    for name, ts in [*results.items(), ("overall", every)]:
        row = {"n": len(ts), "p50": statistics.median(ts), "p95": pct(ts, 0.95), "max": max(ts)}
        table[name] = row
        print(f"{name:<20} {row['n']:>5} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['max']:>8.1f}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2, ensure_ascii=False))
    worst = max(r["p95"] for r in table.values())
    print(f"\nworst p95 {worst:.1f} ms — goal 150 ms: {'met' if worst <= 150 else 'NOT met'}")
    return 0 if worst <= 150 else 1


if __name__ == "__main__":
    sys.exit(main())
