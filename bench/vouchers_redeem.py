"""Benchmark: voucher redemption on PostgreSQL with 32 concurrent clients against one budget
that runs out mid-way (issue 10: ≥ 200 redemptions/s; the sum redeemed ≤ the budget, to the
cent).

Sets up a county with ``--vouchers`` vouchers issued through the real service (an
``innovation_voucher`` run finding every enterprise eligible) and a budget worth about half
of what the invoices would draw, then starts ``--clients`` processes; each opens its own
connection and redeems its share of the vouchers through
:func:`kechuang.vouchers.service.do_redeem` (one transaction each: the ledger payment under
the budget's row lock, the redemption, the audit rows). A start barrier lines them up.
Reports requests per second, successful redemptions per second until the budget ran out,
and checks the sums against the budget and the ledger.

The machine is shared, so it also reports CPU time per request: of the client processes
(``process_time``), of the PostgreSQL server (the postmaster's reaped backends) and, with
``--http``, of the web server. ``--http`` runs the same redemptions through the real HTTP
API (``POST /api/v1/vouchers/redemptions`` with a provider's session and CSRF token)
against ``kechuang serve --workers N`` on ``--port``, to show what the HTTP layer costs.

    .venv/bin/python bench/vouchers_redeem.py            # throwaway PostgreSQL 15 cluster
    .venv/bin/python bench/vouchers_redeem.py --sqlite   # the same on a SQLite file
    .venv/bin/python bench/vouchers_redeem.py --http --workers 2 --port 8774
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from tests.push.helpers import make_run  # noqa: E402
from tests.support.seed import uscc  # noqa: E402

from kechuang.auth import service as auth  # noqa: E402
from kechuang.auth.actor import Actor  # noqa: E402
from kechuang.db import make_engine, unit_of_work  # noqa: E402
from kechuang.kit.errors import KechuangError  # noqa: E402
from kechuang.ledger import service as ledger  # noqa: E402
from kechuang.migrate import upgrade  # noqa: E402
from kechuang.models import Enterprise, Institute, PolicyRun  # noqa: E402
from kechuang.models.ledger import LedgerEntry, VoucherRedemption  # noqa: E402
from kechuang.registry.reference import load_reference_data  # noqa: E402
from kechuang.vouchers import service as vouchers  # noqa: E402

YEAR = 2026
DAY = date(2026, 6, 1)
USER, PASSWORD = "bench-provider", "Quartz-Lantern-7319-Harbor!"
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def setup(url: str, n: int, budget: Decimal) -> tuple[list[tuple[str, str]], int, int]:
    engine = make_engine(url)
    upgrade(engine)
    cli = Actor.command_line()
    with unit_of_work(engine) as s:
        load_reference_data(s)
        s.add_all([Enterprise(uscc=uscc(i), name=f"基准企业{i:05d}", region_code="320582100",
                              industry_code="3973", founded_on=date(2015, 1, 1),
                              size_class="small") for i in range(1, n + 1)])
        inst = Institute(code="INST-B", name="基准研究院", kind="institute",
                         region_code="320582", fields=[])
        s.add(inst)
        s.flush()
        ids = s.scalars(select(Enterprise.id)).all()
        run = s.get(PolicyRun, make_run(s, "innovation_voucher",
                                        {i: "eligible" for i in ids}, eval_year=YEAR - 1))
        assert run is not None
        run.parameters = {"amount": {"value": 5, "ref": "基准", "from": "2021-01-01"}}
        ledger.do_open_budget(s, cli, key=f"vouchers:320582:{YEAR}", title="基准创新券",
                              region_code="320582", year=YEAR, amount=budget, source="基准测试")
        vouchers.do_issue(s, cli, region_code="320582", year=YEAR, on=date(2026, 3, 1))
        p = vouchers.do_register_provider(s, cli, kind="institute", org_id=inst.id)
        auth.do_create_user(s, Actor.command_line(), username=USER, password=PASSWORD,
                            role="institute", region_code="320582", institute_id=inst.id)
        codes = [(v.code, v.uscc) for v in vouchers.voucher_page(s, cli, limit=n + 1).vouchers]
        inst_id = inst.id
    engine.dispose()
    return codes, p.id, inst_id


def client(url: str, jobs: list[tuple[str, str, str, str]], provider_id: int, inst_id: int,
           barrier: object, out: object) -> None:
    engine = make_engine(url)
    actor = Actor(username="bench-provider", role="institute", region_code="320582",
                  region_path="/", institute_id=inst_id)
    ok, refused, last_ok = 0, 0, 0.0
    barrier.wait()  # type: ignore[attr-defined]
    cpu = time.process_time()
    for code, holder, invoice, amount in jobs:
        try:
            with unit_of_work(engine) as s:
                vouchers.do_redeem(s, actor, voucher_code=code, uscc=holder,
                                   provider_id=provider_id, invoice_no=invoice,
                                   invoice_amount=amount, today=DAY)
            ok += 1
            last_ok = time.time()
        except KechuangError:
            refused += 1
    cpu = time.process_time() - cpu
    engine.dispose()
    out.put((ok, refused, last_ok, time.time(), cpu, 0))  # type: ignore[attr-defined]


def http_client(base: str, jobs: list[tuple[str, str, str, str]], provider_id: int,
                _inst_id: int, barrier: object, out: object) -> None:
    """The same redemptions through the JSON API with a provider's own session."""
    with httpx.Client(base_url=base, timeout=120) as c:
        page = c.get("/login")
        m = _CSRF.search(page.text)
        r = c.post("/login", data={"username": USER, "password": PASSWORD,
                                   "csrf_token": m.group(1) if m else "", "next": "/"})
        assert r.status_code in (200, 303), r.text[:300]
        m = _CSRF.search(c.get("/").text)
        headers = {"X-CSRF-Token": m.group(1) if m else ""}
        ok, refused, errors, last_ok = 0, 0, 0, 0.0
        barrier.wait()  # type: ignore[attr-defined]
        cpu = time.process_time()
        for code, holder, invoice, amount in jobs:
            r = c.post("/api/v1/vouchers/redemptions", headers=headers, json={
                "voucher_code": code, "uscc": holder, "provider_id": provider_id,
                "invoice_no": invoice, "invoice_amount": amount})
            if r.status_code == 200:
                ok += 1
                last_ok = time.time()
            elif r.status_code in (409, 422):
                refused += 1
            else:
                errors += 1
        cpu = time.process_time() - cpu
    out.put((ok, refused, last_ok, time.time(), cpu, errors))  # type: ignore[attr-defined]


def _pg_cpu(url: str) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster and its reaped children
    (backends exit when the clients disconnect) plus the live ones."""
    engine = make_engine(url)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        master = psutil.Process(pid).parent()
    engine.dispose()
    t = master.cpu_times()
    live = sum(sum(c.cpu_times()[:2]) for c in master.children())
    return t.user + t.system + t.children_user + t.children_system + live


def _tree_cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return (t.user + t.system + t.children_user + t.children_system
            + sum(sum(c.cpu_times()[:2]) for c in proc.children(recursive=True)))


def _serve(url: str, port: int, workers: int) -> subprocess.Popen:  # type: ignore[type-arg]
    env = {**os.environ, "KECHUANG_DATABASE_URL": url}
    log = open(Path(tempfile.gettempdir()) / f"vouchers-bench-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "kechuang"), "serve", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"server did not start; see {log.name}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vouchers", type=int, default=6000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--http", action="store_true", help="through kechuang serve's JSON API")
    ap.add_argument("--workers", type=int, default=2, help="server processes (--http)")
    ap.add_argument("--port", type=int, default=8774)
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    # invoices of 20,000–150,000 yuan at 0.6, capped at 50,000: ~38,000 a voucher on average
    invoices = rng.integers(2_000_000, 15_000_000, args.vouchers)
    budget = Decimal(int(args.vouchers * 38_000 * 0.5)) + Decimal("0.37")
    cluster = server = None
    if args.sqlite:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='kechuang-vouchers-')) / 'v.sqlite3'}"
    else:
        from tests.support.pgcluster import start_cluster

        cluster = start_cluster()
        admin = create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE vouchers")
        admin.dispose()
        url = cluster.url("vouchers")
    try:
        codes, provider_id, inst_id = setup(url, args.vouchers, budget)
        jobs = [(c, u, f"FP{i:06d}", str(Decimal(int(invoices[i])) / 100))
                for i, (c, u) in enumerate(codes)]
        target, where = client, url
        if args.http:
            server = _serve(url, args.port, args.workers)
            target, where = http_client, f"http://127.0.0.1:{args.port}"  # type: ignore[assignment]
        ctx = mp.get_context("fork")
        barrier = ctx.Barrier(args.clients + 1)
        out = ctx.Queue()
        procs = [ctx.Process(target=target, args=(where, jobs[k::args.clients], provider_id,
                                                  inst_id, barrier, out))
                 for k in range(args.clients)]
        for p in procs:
            p.start()
        barrier.wait()
        pg0 = None if args.sqlite else _pg_cpu(url)
        web0 = _tree_cpu(psutil.Process(server.pid)) if server else 0.0
        started = time.time()
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
        web_cpu = _tree_cpu(psutil.Process(server.pid)) - web0 if server else 0.0
        pg_cpu = None if pg0 is None else _pg_cpu(url) - pg0
        ok = sum(r[0] for r in results)
        refused = sum(r[1] for r in results)
        last_ok = max(r[2] for r in results)
        ended = max(r[3] for r in results)
        client_cpu = sum(r[4] for r in results)
        errors = sum(r[5] for r in results)
        n = max(ok + refused + errors, 1)
        engine = make_engine(url)
        with unit_of_work(engine) as s:
            redeemed = s.scalar(select(func.count()).select_from(VoucherRedemption))
            total = sum(s.scalars(select(VoucherRedemption.amount)).all(), Decimal(0))
            paid = sum(s.scalars(select(LedgerEntry.amount)).all(), Decimal(0))
            left = ledger.remaining(s, f"vouchers:320582:{YEAR}")
        engine.dispose()
        assert errors == 0, f"{errors} requests failed"
        assert redeemed == ok and total == paid and total <= budget
        assert total + left == budget, "the sum redeemed and what is left make the budget"
        print(json.dumps({
            "backend": "sqlite" if args.sqlite else "postgresql",
            "path": f"http ({args.workers} workers)" if args.http else "service",
            "clients": args.clients,
            "vouchers": args.vouchers, "budget": str(budget), "redeemed": ok,
            "refused_over_budget": refused, "sum_redeemed": str(total), "left": str(left),
            "wall_s": round(ended - started, 2),
            "requests_per_s": round((ok + refused) / (ended - started), 1),
            "redemptions_per_s_until_exhausted": round(ok / (last_ok - started), 1),
            "cpu_ms_per_request": {
                "client": round(1000 * client_cpu / n, 2),
                "web_server": round(1000 * web_cpu / n, 2) if args.http else None,
                "postgresql": None if pg_cpu is None else round(1000 * pg_cpu / n, 2)},
            "target_per_s": 200, "machine": platform.platform(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }, ensure_ascii=False))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
