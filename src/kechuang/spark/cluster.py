"""Spark sessions for the runs (docs/spark.md, "Connecting").

``connect(master=…)`` starts a driver against a standalone master (``spark://host:port``)
or in process (``local[2]``); ``connect(remote=…)`` talks to a Spark Connect server
(``sc://host:port``; needs the ``pyspark[connect]`` client libraries). One session is kept
per process and reused while the same cluster is asked for. Every failure of the cluster
(unreachable master, an executor task that fails, a lost connection) is raised as
:class:`ClusterError` with a Chinese message, so a run fails as a whole and the job that
ran it records why.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import ibis

from kechuang.kit.errors import InvalidInput, KechuangError

#: seconds to wait for a standalone master's port before giving up (a master that does not
#: answer would otherwise cost Spark's three 20-second registration attempts)
CONNECT_TIMEOUT = 5.0
#: defaults for every session; ``conf`` (``--spark-conf KEY=VALUE``) overrides them
DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # windows over a whole cohort are single partitions: let them spill, not fail
    "spark.sql.adaptive.enabled": "true",
    "spark.task.maxFailures": "2",
    # the engine's plans are deep (every indicator and group of a system in one query):
    # their text, built for every plan update, would otherwise exhaust the driver's heap
    "spark.sql.maxPlanStringLength": "65536",
}


class ClusterError(KechuangError):
    """The Spark cluster could not do the work (the run is not written)."""

    status_code = 502
    code = "cluster_error"


@dataclass
class Cluster:
    session: Any  # pyspark.sql.SparkSession (classic or Connect)
    con: Any  # the Ibis pyspark backend over ``session``
    where: str  # the master or remote URL

    @property
    def parallelism(self) -> int:
        try:
            return max(int(self.session.sparkContext.defaultParallelism), 1)
        except Exception:  # Spark Connect has no SparkContext
            return max(int(self.session.conf.get("spark.sql.shuffle.partitions", "8")), 1)


_active: dict[str, Any] = {}


def _check_reachable(master: str) -> None:
    """Fail fast, with a clear message, when a standalone master does not listen."""
    url = urlparse(master)
    if url.scheme != "spark":
        return
    for hostport in (url.netloc or "").split(","):
        host, _, port = hostport.rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port or 7077)),
                                          timeout=CONNECT_TIMEOUT):
                return
        except (OSError, ValueError):
            continue
    raise ClusterError(f"无法连接 Spark 主节点 {master}（{CONNECT_TIMEOUT:g} 秒内无响应）；"
                       "请检查地址、端口和防火墙",
                       f"cannot reach the Spark master {master}")


def _key(master: str | None, remote: str | None, conf: dict[str, str]) -> str:
    return f"{master}|{remote}|{sorted(conf.items())}"


def connect(*, master: str | None = None, remote: str | None = None,
            conf: dict[str, str] | None = None, app_name: str = "kechuang") -> Cluster:
    """A session on ``master`` (``spark://…`` or ``local[N]``) or ``remote`` (``sc://…``)."""
    check_address(master, remote)
    settings = {**DEFAULT_CONF, **(conf or {})}
    key = _key(master, remote, settings)
    if key in _active:
        return _active[key]
    return _connect(master, remote, settings, app_name)


def check_address(master: str | None, remote: str | None) -> None:
    """Exactly one of ``master`` and ``remote``, each in its form (before anything runs)."""
    if bool(master) == bool(remote):
        raise InvalidInput("请指定 --spark-master（spark://主机:端口）或 --spark-remote"
                           "（sc://主机:端口）之一", "give one of --spark-master, --spark-remote")
    if remote and not remote.startswith("sc://"):
        raise InvalidInput(f"--spark-remote 应为 sc://主机:端口，实为 “{remote}”",
                           "--spark-remote must be sc://host:port")
    if master and not (master.startswith(("spark://", "local", "yarn", "k8s://"))):
        raise InvalidInput(f"--spark-master 应为 spark://主机:端口（或 local[N]），实为 “{master}”",
                           "--spark-master must be spark://host:port")


def _connect(master: str | None, remote: str | None, settings: dict[str, str],
             app_name: str) -> Cluster:
    key = _key(master, remote, settings)
    stop_all()
    try:
        from pyspark.sql import SparkSession  # the optional ``spark`` extra
    except ImportError as exc:
        raise ClusterError("Spark 引擎需要安装 pyspark（pip install 'kechuang[spark]'）",
                           "pyspark is not installed") from exc
    builder = SparkSession.builder.appName(app_name)
    if remote:
        try:
            import pyspark.sql.connect.session  # noqa: F401 - the Connect client's libraries
        except ImportError as exc:
            raise ClusterError(f"Spark Connect 需要 pyspark 的 connect 依赖（pip install "
                               f"'pyspark[connect]'）：{exc}",
                               "Spark Connect needs pyspark[connect]") from exc
        builder = builder.remote(remote)
    else:
        assert master is not None
        _check_reachable(master)
        builder = builder.master(master)
        # executors run Python (the Arrow packing of results, policy evaluation) with the
        # interpreter the driver names: this one, unless the cluster's is configured
        settings.setdefault("spark.pyspark.python",
                            os.environ.get("PYSPARK_PYTHON") or sys.executable)
        os.environ["PYSPARK_PYTHON"] = settings["spark.pyspark.python"]
        # executors import kechuang (hashing blocks, evaluating policies): from where the
        # driver imports it, unless the cluster's environment is configured
        settings.setdefault("spark.executorEnv.PYTHONPATH", os.pathsep.join(
            p for p in (str(Path(__file__).resolve().parents[2]),
                        os.environ.get("PYTHONPATH", "")) if p))
        settings.setdefault("spark.sql.warehouse.dir",
                            tempfile.mkdtemp(prefix="kechuang-spark-warehouse-"))
    for k, v in settings.items():
        builder = builder.config(k, v)
    with cluster_errors(master or remote or ""):
        session = builder.getOrCreate()
        if not remote:
            session.sparkContext.setLogLevel("ERROR")
        con = ibis.pyspark.connect(session)
    cluster = Cluster(session=session, con=con, where=str(master or remote))
    _active[key] = cluster
    return cluster


def stop_all() -> None:
    """Stop the session this process holds (if any)."""
    for key in list(_active):
        cluster = _active.pop(key)
        with contextlib.suppress(Exception):
            cluster.session.stop()


def _is_cluster_failure(exc: BaseException) -> bool:
    names = {t.__name__ for t in type(exc).__mro__}
    module = type(exc).__module__ or ""
    return bool(names & {"Py4JError", "Py4JJavaError", "Py4JNetworkError",
                         "PySparkException", "SparkConnectException",
                         "SparkConnectGrpcException", "CapturedException"}) \
        or module.startswith(("py4j", "pyspark"))


def _summary(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    for line in text:
        if "Exception" in line or "Error" in line or "Caused by" in line:
            return line.strip()[:300]
    return (text[0] if text else type(exc).__name__)[:300]


@contextlib.contextmanager
def cluster_errors(where: str) -> Iterator[None]:
    """Turn a failure of Spark (driver, executors or the connection) into ClusterError."""
    try:
        yield
    except KechuangError:
        raise
    except Exception as exc:
        if not _is_cluster_failure(exc):
            raise
        raise ClusterError(f"Spark 集群 {where} 执行失败，未写入任何结果：{_summary(exc)}",
                           f"the Spark cluster {where} failed: {_summary(exc)}") from exc


# ----------------------------------------------------------------------- a local cluster
def spark_home() -> Path:
    """``$SPARK_HOME``, or the pyspark package directory (which ships ``bin/spark-class``
    and the jars of a standalone master and worker)."""
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"])
    try:
        import pyspark  # the optional ``spark`` extra
    except ImportError as exc:
        raise ClusterError("Spark 引擎需要安装 pyspark（pip install 'kechuang[spark]'）",
                           "pyspark is not installed") from exc
    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    """A standalone Spark master and workers started as separate processes (tests,
    benchmarks, a single machine). ``master`` is the ``spark://`` URL to pass to
    :func:`connect`."""

    host: str = "127.0.0.1"
    workers: int = 1
    cores: int = 1
    memory: str = "1g"
    workdir: Path | None = None
    master: str = ""
    web_port: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(self, cls: str, *args: str, log: str) -> subprocess.Popen[bytes]:
        assert self.workdir is not None
        home = spark_home()
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": self.host,
               "SPARK_WORKER_DIR": str(self.workdir / "work"),
               "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON") or sys.executable}
        out = open(self.workdir / log, "wb")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen([str(home / "bin" / "spark-class"), cls, *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.processes.append(proc)
        return proc

    def start(self, timeout: float = 90.0) -> LocalCluster:
        self.workdir = self.workdir or Path(tempfile.mkdtemp(prefix="kechuang-spark-"))
        port, self.web_port = free_port(), free_port()
        self.master = f"spark://{self.host}:{port}"
        self._spawn("org.apache.spark.deploy.master.Master", "--host", self.host,
                    "--port", str(port), "--webui-port", str(self.web_port), log="master.log")
        for i in range(self.workers):
            self._spawn("org.apache.spark.deploy.worker.Worker", self.master,
                        "--host", self.host, "--cores", str(self.cores),
                        "--memory", self.memory, "--webui-port", str(free_port()),
                        "--work-dir", str(self.workdir / f"work-{i}"), log=f"worker-{i}.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                break
            if self.alive_workers() >= self.workers:
                return self
            time.sleep(0.5)
        self.stop()
        raise ClusterError(f"本地 Spark 集群未能在 {timeout:g} 秒内启动（日志：{self.workdir}）",
                           f"the local Spark cluster did not start (logs: {self.workdir})")

    def alive_workers(self) -> int:
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.web_port}/json/",
                                        timeout=2) as r:
                return int(json.loads(r.read()).get("aliveworkers", 0))
        except (OSError, ValueError):
            return 0

    def stop_workers(self) -> None:
        """Stop the workers only (the master stays: a run then has no executor)."""
        for proc in self.processes[1:]:
            _terminate(proc)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            _terminate(proc)
        self.processes.clear()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
