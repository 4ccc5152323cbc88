"""Benchmark: a 28-indicator scoring computation on a standalone Spark cluster (issue 15).

Generates N synthetic enterprises × 3 years × 28 inputs as Parquet (streaming, seeded, bounded
memory), starts a standalone Spark master and one worker as separate processes from the
pyspark package, and runs the indicator system's Ibis definition
(``kechuang.scoring.engine.compute(system, table, year=…, con=ibis.pyspark.connect(session))``,
the same call ``kechuang index compute --engine spark`` makes) over it, writing the wide result
(raw, imputed, treated, normalised values, weights, group scores and ranks — the columns a
scoring run persists) to Parquet on the cluster, never collecting it to the driver.

``--engine duckdb`` runs the in-process engine instead, exactly as a database scoring run
does (``kechuang.scoring.service._compute``: the input frame handed to an in-process DuckDB
with its memory limit and spill directory, the wide result back as a pandas frame), over the
same Parquet input.

The system is ``bench/scoring_run.py``'s BENCH_SYSTEM: ``torch.yaml`` (23 indicators, stage
cohorts, veto) plus five indicators on catalogue metrics, 28 in all. The input has a ``stage``
column derived from revenue with the default stage bands (a database run derives it the same
way).

Memory: a sampler reads VmRSS from /proc every 0.5 s for the driver (the Python process and
its JVM), the executor (every process under the worker), the master and the worker daemons,
and their sum; each measurement runs in a fresh child process.

    PYTHONPATH=$PWD/src .venv/bin/python bench/spark_scale.py --enterprises 20000
    PYTHONPATH=$PWD/src .venv/bin/python bench/spark_scale.py --enterprises 1000000 \\
        --engine both
    PYTHONPATH=$PWD/src .venv/bin/python bench/spark_scale.py --enterprises 10000000 \\
        --worker-memory 14g --executor-memory 12g

Figures: docs/benchmarks.md, "Spark (issue 15)"; capacity plan: docs/spark-capacity.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from scoring_run import bench_system_text  # noqa: E402

YEARS = 3
LAST_YEAR = 2025
CHUNK = 250_000
# default stage bands (kechuang.scoring.runs.default_parameters()["stage"]), 万元 of revenue
STAGE_BANDS = ((2000.0, "初创"), (40000.0, "成长"))
STAGE_TOP = "稳定"


# --------------------------------------------------------------------------- input data
def _with_missing(rng: np.random.Generator, x: np.ndarray, rate: float) -> pa.Array:
    mask = rng.random(x.shape[0]) < rate
    return pa.array(x, type=pa.float64(), mask=mask | np.isnan(x))


def _zero_inflated(rng: np.random.Generator, x: np.ndarray, zero: float) -> np.ndarray:
    return np.where(rng.random(x.shape[0]) < zero, 0.0, x)


def _counts(rng: np.random.Generator, rate: np.ndarray, zero: float) -> np.ndarray:
    return _zero_inflated(rng, rng.poisson(rate).astype(np.float64), zero)


def _chunk(rng: np.random.Generator, first: int, n: int) -> pa.Table:
    """``n`` enterprises (ids from ``first``), one row per enterprise and year; about 6 % of
    them were founded during the period (no rows for the earlier years)."""
    # enterprise-level traits
    size = rng.lognormal(np.log(2500.0), 1.6, n)            # revenue scale, 万元
    rd_share = rng.beta(1.2, 25.0, n)
    ht_share = rng.beta(1.0, 2.0, n)
    leverage = rng.beta(2.0, 3.0, n)
    staff = np.maximum(1.0, np.round(rng.lognormal(np.log(40.0), 1.2, n)))
    rd_rate = rng.beta(2.0, 12.0, n)
    ip_rate = rng.gamma(0.6, 2.0, n) * (1.0 + rd_share * 40)
    industrial = rng.random(n) < 0.55
    founded = np.where(rng.random(n) < 0.06, rng.integers(1, YEARS, n), 0)
    ids = pa.array([f"91{(first + i):016d}" for i in range(n)], type=pa.string())

    tables = []
    growth = np.ones(n)
    for k in range(YEARS):
        year = LAST_YEAR - YEARS + 1 + k
        growth = growth * rng.lognormal(0.06, 0.25, n)
        alive = np.nonzero(founded <= k)[0]
        m = alive.shape[0]
        revenue = size[alive] * growth[alive]
        assets = revenue * rng.lognormal(0.0, 0.5, m)
        rd = _zero_inflated(rng, revenue * rd_share[alive] * rng.lognormal(0, 0.2, m), 0.35)
        emp = np.maximum(1.0, np.round(staff[alive] * rng.lognormal(0.02, 0.1, m)))
        rd_staff = rng.binomial(emp.astype(np.int64), rd_rate[alive]).astype(np.float64)
        tech_staff = rd_staff + rng.binomial((emp - rd_staff).astype(np.int64), 0.05)
        ipr = ip_rate[alive]
        cols: dict[str, pa.Array] = {
            "uscc": ids.take(pa.array(alive)),
            "year": pa.array(np.full(m, year, dtype=np.int64)),
        }
        rev_col = _with_missing(rng, revenue, 0.04)
        stage = np.full(m, STAGE_TOP, dtype=object)
        rev_np = rev_col.to_numpy(zero_copy_only=False)
        for bound, code in reversed(STAGE_BANDS):
            stage = np.where(rev_np < bound, code, stage)
        stage = np.where(np.isnan(rev_np), STAGE_BANDS[0][1], stage)   # missing → 初创
        cols["stage"] = pa.array(stage, type=pa.string())
        values = {
            "revenue": rev_col,
            "main_business_revenue": _with_missing(rng, revenue * rng.beta(20, 1.5, m), 0.08),
            "high_tech_revenue": _with_missing(
                rng, _zero_inflated(rng, revenue * ht_share[alive], 0.5), 0.10),
            "industrial_output": _with_missing(
                rng, np.where(industrial[alive], revenue * rng.lognormal(0, 0.2, m), np.nan),
                0.05),
            "total_assets": _with_missing(rng, assets, 0.05),
            "total_liabilities": _with_missing(rng, assets * leverage[alive], 0.06),
            "net_profit": _with_missing(rng, revenue * rng.normal(0.05, 0.12, m), 0.07),
            "tax_paid": _with_missing(
                rng, _zero_inflated(rng, revenue * rng.beta(2, 30, m), 0.15), 0.05),
            "rd_expense": _with_missing(rng, rd, 0.06),
            "rd_expense_domestic": _with_missing(rng, rd * rng.beta(8, 1, m), 0.12),
            "tech_contract_value": _with_missing(
                rng, _zero_inflated(rng, rng.lognormal(np.log(50), 1.5, m), 0.85), 0.10),
            "equity_financing": _with_missing(
                rng, _zero_inflated(rng, rng.lognormal(np.log(1000), 1.2, m), 0.92), 0.10),
            "employees": _with_missing(rng, emp, 0.03),
            "rd_staff": _with_missing(rng, rd_staff, 0.08),
            "tech_staff": _with_missing(rng, tech_staff, 0.08),
            "phd_staff": _with_missing(rng, rng.poisson(rd_staff * 0.02).astype(float), 0.10),
            "invention_applications": _with_missing(rng, _counts(rng, ipr, 0.55), 0.04),
            "invention_patents": _with_missing(rng, _counts(rng, ipr * 1.5, 0.6), 0.04),
            "class1_ip": _with_missing(rng, _counts(rng, ipr * 0.8, 0.6), 0.04),
            "class2_ip": _with_missing(rng, _counts(rng, ipr * 2.0, 0.45), 0.04),
            "pct_applications": _with_missing(rng, _counts(rng, ipr * 0.1, 0.9), 0.04),
            "standards_led": _with_missing(rng, _counts(rng, ipr * 0.05, 0.95), 0.05),
            "transformations": _with_missing(rng, _counts(rng, ipr * 0.3, 0.8), 0.05),
            "awards_national": _with_missing(rng, _counts(rng, ipr * 0.002, 0.99), 0.02),
            "awards_provincial": _with_missing(rng, _counts(rng, ipr * 0.02, 0.97), 0.02),
            "seriously_dishonest": _with_missing(rng, (rng.random(m) < 0.003) * 1.0, 0.01),
            "abnormal_operation": _with_missing(rng, (rng.random(m) < 0.02) * 1.0, 0.01),
            "major_incident_last_year": _with_missing(rng, (rng.random(m) < 0.005) * 1.0, 0.01),
        }
        cols.update(values)
        tables.append(pa.table(cols))
    return pa.concat_tables(tables)


def generate(n: int, out: Path, seed: int) -> dict[str, Any]:
    """Write the input as one Parquet file per 250,000 enterprises (bounded memory)."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = 0
    for part, first in enumerate(range(0, n, CHUNK)):
        rng = np.random.default_rng([seed, part])
        table = _chunk(rng, first, min(CHUNK, n - first))
        rows += table.num_rows
        pq.write_table(table, out / f"part-{part:05d}.parquet", row_group_size=CHUNK)
    size = sum(p.stat().st_size for p in out.glob("*.parquet"))
    return {"rows": rows, "seconds": round(time.perf_counter() - t0, 1),
            "parquet_mib": round(size / 2**20, 1), "files": len(list(out.glob("*.parquet")))}


# --------------------------------------------------------------------------- memory sampling
def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


class Sampler(threading.Thread):
    """Peak resident memory (MiB) per role, each role a process and its descendants."""

    def __init__(self, roles: dict[str, int], interval: float = 0.5,
                 log: Path | None = None) -> None:
        super().__init__(daemon=True)
        self.log = log
        self.roles = dict(roles)
        self.interval = interval
        self.peaks: dict[str, float] = {}
        self.min_available_mib = float("inf")
        self._halt = threading.Event()

    def run(self) -> None:
        last = 0.0
        while not self._halt.is_set():
            kids = _children()
            total = 0.0
            for role, pid in list(self.roles.items()):
                if role == "worker":   # the worker daemon alone; its children are the executor
                    mib = _rss_kib(pid) / 1024
                    ex = sum(_rss_kib(p) for c in kids.get(pid, []) for p in _tree(c, kids))
                    self.peaks["executor"] = max(self.peaks.get("executor", 0.0), ex / 1024)
                    total += ex / 1024
                else:
                    mib = sum(_rss_kib(p) for p in _tree(pid, kids)) / 1024
                self.peaks[role] = max(self.peaks.get(role, 0.0), mib)
                total += mib
            self.peaks["total"] = max(self.peaks.get("total", 0.0), total)
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        self.min_available_mib = min(self.min_available_mib,
                                                     int(line.split()[1]) / 1024)
            if self.log is not None and time.time() - last >= 30:
                last = time.time()
                with open(self.log, "a") as f:
                    f.write(f"{time.strftime('%H:%M:%S')} {_uptime()} current_total_mib="
                            f"{round(total)} peaks={json.dumps(self.peaks)}\n")
            self._halt.wait(self.interval)

    def stop(self) -> dict[str, Any]:
        self._halt.set()
        self.join()
        return {**{f"peak_rss_{k}_mib": round(v) for k, v in sorted(self.peaks.items())},
                "min_mem_available_mib": round(self.min_available_mib)}


# --------------------------------------------------------------------------- the cluster
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spark_home() -> Path:
    import pyspark  # the optional ``spark`` extra

    return Path(pyspark.__file__).resolve().parent


class Cluster:
    """A standalone master and one worker, each a separate JVM started from the pyspark
    package (``spark-class``), on free ports, with their logs and scratch under ``work``."""

    def __init__(self, work: Path, cores: int, memory: str) -> None:
        self.work = work
        self.port = _free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        home = spark_home()
        env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1",
                   SPARK_LOCAL_DIRS=str(work / "local"), SPARK_WORKER_DIR=str(work / "worker"),
                   PYSPARK_PYTHON=sys.executable)
        for d in ("local", "worker", "logs"):
            (work / d).mkdir(parents=True, exist_ok=True)
        cls = str(home / "bin" / "spark-class")
        self.master = subprocess.Popen(
            [cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(self.port), "--webui-port", str(_free_port())],
            env=env, stdout=open(work / "logs" / "master.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT)
        self._wait_port(self.port)
        self.worker = subprocess.Popen(
            [cls, "org.apache.spark.deploy.worker.Worker", self.url, "--host", "127.0.0.1",
             "--cores", str(cores), "--memory", memory, "--webui-port", str(_free_port()),
             "--work-dir", str(work / "worker")],
            env=env, stdout=open(work / "logs" / "worker.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT)
        self._wait_registered()

    def _wait_port(self, port: int, timeout: float = 120) -> None:
        end = time.time() + timeout
        while time.time() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.5)
        raise SystemExit(f"Spark master did not open port {port}")

    def _wait_registered(self, timeout: float = 120) -> None:
        end = time.time() + timeout
        log = self.work / "logs" / "worker.log"
        while time.time() < end:
            if log.exists() and b"Successfully registered with master" in log.read_bytes():
                return
            time.sleep(0.5)
        raise SystemExit(f"Spark worker did not register with the master: see {log}")

    def stop(self) -> None:
        for proc in (self.worker, self.master):
            proc.terminate()
        for proc in (self.worker, self.master):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


# --------------------------------------------------------------------------- measurements
def _system(work: Path) -> Any:
    from kechuang.scoring import system as S

    path = work / "bench-points.yaml"
    path.write_text(bench_system_text(), encoding="utf-8")
    return S.load(path)


def _keep(system: Any) -> list[str]:
    uid = system.spec.unit.id
    return [uid, *[f"{p}__{i}" for i in system.indicators
                   for p in ("raw", "imp", "trt", "nrm", "w")],
            *[f"score__{c}" for c in system.order if c in system.groups],
            *[f"{g}_rank" for g in system.groups],
            *[f"veto__{v.code}" for v in system.spec.veto]]


def _shuffle_bytes(session: Any) -> dict[str, Any]:
    """Shuffle and spill volume of the application (summed over its stages), from the
    driver's status store (the UI is off)."""
    try:
        store = session.sparkContext._jsc.sc().statusStore()
        stages = store.stageList(None, False, False, False, None).iterator()
        totals = dict.fromkeys(("shuffle_write", "shuffle_read", "spill_disk", "spill_memory"),
                               0)
        while stages.hasNext():
            st = stages.next()
            totals["shuffle_write"] += st.shuffleWriteBytes()
            totals["shuffle_read"] += st.shuffleReadBytes()
            totals["spill_disk"] += st.diskBytesSpilled()
            totals["spill_memory"] += st.memoryBytesSpilled()
        return {f"{k}_mib": round(v / 2**20) for k, v in totals.items()}
    except Exception as exc:  # the status store is an internal API: report, do not fail
        return {"shuffle_error": str(exc)[:200]}


def child_spark(args: argparse.Namespace) -> dict[str, Any]:
    import ibis
    from pyspark.sql import SparkSession

    from kechuang.scoring import engine

    work = Path(args.work)
    system = _system(work)
    t0 = time.perf_counter()
    session = (
        SparkSession.builder.master(args.master).appName("kechuang-spark-scale")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.executor.memory", args.executor_memory)
        .config("spark.executor.cores", str(args.cores))
        .config("spark.cores.max", str(args.cores))
        .config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.local.dir", str(work / "local"))
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    con = ibis.pyspark.connect(session)
    startup = time.perf_counter() - t0
    table = con.read_parquet(str(work / "input"))
    t1 = time.perf_counter()
    print(f"{time.strftime('%H:%M:%S')} compute started", file=sys.stderr, flush=True)
    result = engine.compute(system, table, year=LAST_YEAR, con=con)
    assert result.wide is not None
    t2 = time.perf_counter()
    print(f"{time.strftime('%H:%M:%S')} compute done in {t2 - t1:.0f} s, writing",
          file=sys.stderr, flush=True)
    out = work / "out-spark"
    con.to_parquet(result.wide.select(*_keep(system)), out)
    t3 = time.perf_counter()
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in out.glob("*.parquet"))
    shuffle = _shuffle_bytes(session)
    session.stop()
    return {"engine": "spark", "startup_s": round(startup, 1),
            "compute_s": round(t2 - t1, 1), "write_s": round(t3 - t2, 1),
            "run_s": round(t3 - t1, 1), "rows_written": rows,
            "output_mib": round(sum(p.stat().st_size for p in out.rglob("*.parquet")) / 2**20),
            **shuffle,
            "notes": len(result.notes)}


def child_duckdb(args: argparse.Namespace) -> dict[str, Any]:
    from kechuang.scoring import service

    work = Path(args.work)
    system = _system(work)
    t0 = time.perf_counter()
    frame = pq.read_table(work / "input").to_pandas()
    t1 = time.perf_counter()
    wide, notes, _ = service._compute(system, [frame], LAST_YEAR)
    t2 = time.perf_counter()
    return {"engine": "duckdb (in process, as scoring.service._compute)",
            "read_s": round(t1 - t0, 1), "run_s": round(t2 - t1, 1),
            "rows_out": len(wide), "wide_columns": len(wide.columns),
            "wide_frame_mib": round(wide.memory_usage(deep=False).sum() / 2**20),
            "duckdb_memory_limit": service.DUCKDB_MEMORY_LIMIT, "notes": len(notes),
            "child_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                        / 1024)}


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _measure(kind: str, args: argparse.Namespace, work: Path, roles: dict[str, int],
             master: str = "") -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--work", str(work),
           "--enterprises", str(args.enterprises), "--master", master,
           "--cores", str(args.cores), "--executor-memory", args.executor_memory,
           "--driver-memory", args.driver_memory,
           "--shuffle-partitions", str(args.shuffle_partitions)]
    before = _uptime()
    log = open(work / f"{kind}.log", "w")  # noqa: SIM115 (the child's stderr)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    sampler = Sampler({**roles, "driver": proc.pid}, log=work / f"{kind}.memory.log")
    sampler.start()
    t0 = time.perf_counter()
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - t0
    mem = sampler.stop()
    if proc.returncode != 0:
        tail = (work / f"{kind}.log").read_text(errors="replace")[-3000:]
        return {"engine": kind, "failed": proc.returncode, "wall_s": round(wall, 1),
                "stderr_tail": tail, **mem, "uptime_before": before, "uptime_after": _uptime()}
    out = json.loads(stdout.strip().splitlines()[-1])
    return {**out, "wall_s": round(wall, 1), **mem, "uptime_before": before,
            "uptime_after": _uptime()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--engine", choices=["spark", "duckdb", "both"], default="spark")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--work", type=Path, help="scratch directory (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--reuse-input", action="store_true",
                    help="use the input already in --work/input")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--worker-memory", default="14g")
    ap.add_argument("--executor-memory", default="12g")
    ap.add_argument("--driver-memory", default="2g")
    ap.add_argument("--shuffle-partitions", type=int, default=0,
                    help="spark.sql.shuffle.partitions (default: one per 250,000 enterprises, "
                         "at least 8)")
    ap.add_argument("--child", choices=["spark", "duckdb"], help=argparse.SUPPRESS)
    ap.add_argument("--master", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_spark if args.child == "spark" else child_duckdb
        print(json.dumps(fn(args), ensure_ascii=False), flush=True)
        return
    if not args.shuffle_partitions:
        args.shuffle_partitions = max(8, args.enterprises // 250_000)
    work = args.work or Path(tempfile.mkdtemp(prefix="kechuang-spark-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "enterprises": args.enterprises, "years": YEARS, "indicators": 28,
        "system": "bench-points (torch.yaml + 5, bench/scoring_run.py)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB,"
                   f" Python {platform.python_version()}",
    }
    try:
        if not (args.reuse_input and (work / "input").exists()):
            shutil.rmtree(work / "input", ignore_errors=True)
            report["input"] = generate(args.enterprises, work / "input", args.seed)
        runs = []
        if args.engine in ("spark", "both"):
            t0 = time.perf_counter()
            cluster = Cluster(work / "cluster", args.cores, args.worker_memory)
            report["cluster_start_s"] = round(time.perf_counter() - t0, 1)
            try:
                shutil.rmtree(work / "out-spark", ignore_errors=True)
                runs.append(_measure("spark", args, work, {"master": cluster.master.pid,
                                                           "worker": cluster.worker.pid},
                                     cluster.url))
                runs[-1].update(worker_memory=args.worker_memory,
                                executor_memory=args.executor_memory,
                                driver_memory=args.driver_memory,
                                shuffle_partitions=args.shuffle_partitions)
            finally:
                cluster.stop()
        if args.engine in ("duckdb", "both"):
            runs.append(_measure("duckdb", args, work, {}))
        report["runs"] = runs
        ok = [r for r in runs if "failed" not in r]
        if len(ok) == 2:
            report["spark_to_duckdb_wall_ratio"] = round(ok[0]["wall_s"] / ok[1]["wall_s"], 2)
            report["spark_to_duckdb_run_ratio"] = round(ok[0]["run_s"] / ok[1]["run_s"], 2)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()
