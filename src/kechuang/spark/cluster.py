"""Spark sessions for the runs (docs/spark.md, "Connecting").

``connect(master=…)`` starts a driver against a standalone master (``spark://host:port``)
or in process (``local[2]``); ``connect(remote=…)`` talks to a Spark Connect server
(``sc://host:port``; needs the Spark Connect client libraries of the ``spark`` extra): the
driver is then the server, this process only a client. One session is kept per process and
reused while the same cluster is asked for. Every failure of the cluster (unreachable
master or server, an executor task that fails, a lost connection) is raised as
:class:`ClusterError` with a Chinese message, so a run fails as a whole and the job that
ran it records why.

:class:`LocalCluster` (a standalone master and workers) and :class:`LocalConnectServer` (a
Spark Connect server) start a cluster from the pyspark package as separate processes, for
the tests, the benchmarks and a single machine.
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
    def remote(self) -> bool:
        """A Spark Connect session (no SparkContext, no JVM in this process)."""
        return self.where.startswith("sc://")

    @property
    def parallelism(self) -> int:
        if self.remote:  # Spark Connect has no SparkContext
            return max(int(self.session.conf.get("spark.sql.shuffle.partitions", "8")), 1)
        return max(int(self.session.sparkContext.defaultParallelism), 1)


_active: dict[str, Any] = {}
#: the variable pyspark sets when it opens a Connect session: while it is set, pyspark's
#: functions build Connect columns, and a classic session cannot start in this process
_CONNECT_MODE = "SPARK_CONNECT_MODE_ENABLED"
#: the default port of a Spark Connect server (``spark.connect.grpc.binding.port``)
CONNECT_PORT = 15002


def _check_reachable(url_text: str) -> None:
    """Fail fast, with a clear message, when a standalone master (``spark://``) or a Spark
    Connect server (``sc://``) does not listen: a Connect client would otherwise retry
    for minutes, a driver try to register three times 20 seconds."""
    url = urlparse(url_text)
    if url.scheme == "spark":
        default, what_zh, what = 7077, "Spark 主节点", "the Spark master"
    elif url.scheme == "sc":
        default, what_zh, what = CONNECT_PORT, "Spark Connect 服务", "the Spark Connect server"
    else:
        return
    for hostport in (url.netloc or "").split(","):
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        try:
            with socket.create_connection((host or "localhost", int(port or default)),
                                          timeout=CONNECT_TIMEOUT):
                return
        except (OSError, ValueError):
            continue
    raise ClusterError(f"无法连接 {what_zh} {url_text}（{CONNECT_TIMEOUT:g} 秒内无响应）；"
                       "请检查地址、端口和防火墙",
                       f"cannot reach {what} {url_text}")


def _key(master: str | None, remote: str | None, conf: dict[str, str]) -> str:
    return f"{master}|{remote}|{sorted(conf.items())}"


def connect(*, master: str | None = None, remote: str | None = None,
            conf: dict[str, str] | None = None, app_name: str = "kechuang") -> Cluster:
    """A session on ``master`` (``spark://…`` or ``local[N]``) or ``remote`` (``sc://…``)."""
    check_address(master, remote)
    # over Spark Connect the session can set SQL settings only; the server's static ones
    # (UI, task retries, …) are the server's own (``LocalConnectServer`` passes them)
    defaults = {k: v for k, v in DEFAULT_CONF.items() if not remote or k.startswith("spark.sql.")}
    settings = {**defaults, **(conf or {})}
    key = _key(master, remote, settings)
    if key in _active and _usable(_active[key]):
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
                               f"'kechuang[spark]'）：{exc}",
                               "Spark Connect needs the client libraries of kechuang[spark]"
                               ) from exc
        _check_reachable(remote)
        # where the server's Python workers import kechuang from is the server's setting
        # (LocalConnectServer, or the managed cluster's), not the client's
        builder = builder.remote(remote)
    else:
        assert master is not None
        _check_reachable(master)
        _stop_foreign_context()
        builder = builder.master(master)
        # executors run Python (the Arrow packing of results, policy evaluation) with the
        # interpreter the driver names: this one, unless the cluster's is configured
        settings.setdefault("spark.pyspark.python",
                            os.environ.get("PYSPARK_PYTHON") or sys.executable)
        os.environ["PYSPARK_PYTHON"] = settings["spark.pyspark.python"]
        # executors import kechuang (hashing blocks, evaluating policies): from where the
        # driver imports it, unless the cluster's environment is configured
        settings.setdefault("spark.executorEnv.PYTHONPATH", worker_pythonpath())
        settings.setdefault("spark.sql.warehouse.dir",
                            tempfile.mkdtemp(prefix="kechuang-spark-warehouse-"))
    for k, v in settings.items():
        builder = builder.config(k, v)
    try:
        with cluster_errors(master or remote or ""):
            session = builder.getOrCreate()
            if not remote:  # a Connect server's log level is the server's
                session.sparkContext.setLogLevel("ERROR")
            con = ibis.pyspark.connect(session)
    except Exception:
        if remote:
            os.environ.pop(_CONNECT_MODE, None)
        raise
    if not remote and session.sparkContext.master != master:
        raise ClusterError(f"Spark 会话连接到了 {session.sparkContext.master}，而不是 {master}",
                           f"the Spark session runs on {session.sparkContext.master}, "
                           f"not {master}")
    cluster = Cluster(session=session, con=con, where=str(master or remote))
    _active[key] = cluster
    return cluster


def _stop_foreign_context() -> None:
    """Stop a Spark context this process started elsewhere (``kechuang index compute
    --engine spark`` starts a local one): ``getOrCreate`` would hand it back instead of a
    session on the asked master, with its own interpreter and environment — executors that
    cannot import kechuang, on the wrong machines."""
    from pyspark import SparkContext  # the optional ``spark`` extra

    active = SparkContext._active_spark_context
    if active is not None:
        active.stop()


def _usable(cluster: Cluster) -> bool:
    """A kept Spark Connect session still answers (the server may have restarted, or closed
    the session after its idle timeout); a classic session lives in this process."""
    if not cluster.remote:
        return True
    try:
        _check_reachable(cluster.where)
        cluster.session.conf.get("spark.sql.session.timeZone")
    except Exception:
        return False
    return True


def stop_all() -> None:
    """Stop the session this process holds (if any). After a Spark Connect session, the
    process is a classic pyspark process again (a later ``connect(master=…)`` works)."""
    for key in list(_active):
        cluster = _active.pop(key)
        # Ibis drops a cached stage's temporary view when its expression is collected, at
        # the latest when the interpreter exits: release them while the session lives
        for entry in list(getattr(cluster.con, "_cache_name_to_entry", {}).values()):
            with contextlib.suppress(Exception):
                entry.finalizer()
        with contextlib.suppress(Exception):
            cluster.session.stop()
        if cluster.remote:
            os.environ.pop(_CONNECT_MODE, None)


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


#: the main class ``sbin/start-connect-server.sh`` submits (its jar ships in pyspark/jars)
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def worker_pythonpath() -> str:
    """Where a Python worker of the cluster imports kechuang from when the cluster runs
    on this machine: the directory this process imports it from, then ``$PYTHONPATH``."""
    return os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]),
                                       os.environ.get("PYTHONPATH", "")) if p)


@dataclass
class LocalConnectServer:
    """A Spark Connect server started as a separate process from the pyspark package
    (``bin/spark-submit --class`` :data:`CONNECT_SERVER_CLASS`, what
    ``sbin/start-connect-server.sh`` runs), for tests, benchmarks and a single machine.
    The server is the driver: it runs on ``master`` (``local[N]`` in the server's process,
    or a standalone master such as :attr:`LocalCluster.master`), and its Python workers
    import kechuang from where this process does (``PYTHONPATH``, ``PYSPARK_PYTHON``).
    ``remote`` is the ``sc://`` URL to pass to :func:`connect`; ``conf`` adds server
    settings (static ones too, e.g. ``spark.sql.shuffle.partitions``)."""

    host: str = "127.0.0.1"
    master: str = "local[2]"
    memory: str = "1g"
    workdir: Path | None = None
    conf: dict[str, str] = field(default_factory=dict)
    port: int = 0
    remote: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "connect-server.log"

    def start(self, timeout: float = 120.0) -> LocalConnectServer:
        self.workdir = self.workdir or Path(tempfile.mkdtemp(prefix="kechuang-connect-"))
        self.port = self.port or free_port()
        home = spark_home()
        python = os.environ.get("PYSPARK_PYTHON") or sys.executable
        pythonpath = worker_pythonpath()
        settings = {
            "spark.connect.grpc.binding.address": self.host,
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.ui.enabled": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.warehouse.dir": str(self.workdir / "warehouse"),
            "spark.local.dir": str(self.workdir / "local"),
            "spark.task.maxFailures": DEFAULT_CONF["spark.task.maxFailures"],
            "spark.sql.maxPlanStringLength": DEFAULT_CONF["spark.sql.maxPlanStringLength"],
            # Python workers (hashing blocks, evaluating policies) import kechuang
            "spark.pyspark.python": python,
            "spark.executorEnv.PYTHONPATH": pythonpath,
            **self.conf,
        }
        args = [str(home / "bin" / "spark-submit"), "--class", CONNECT_SERVER_CLASS,
                "--name", "kechuang-connect", "--master", self.master,
                "--driver-memory", self.memory]
        for k, v in settings.items():
            args += ["--conf", f"{k}={v}"]
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": self.host,
               "PYSPARK_PYTHON": python, "PYTHONPATH": pythonpath}
        env.pop(_CONNECT_MODE, None)
        env.pop("SPARK_REMOTE", None)
        out = open(self.log, "wb")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                        cwd=self.workdir, start_new_session=True)
        self.remote = f"sc://{self.host}:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((self.host, self.port), timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise ClusterError(f"本地 Spark Connect 服务未能在 {timeout:g} 秒内启动"
                           f"（日志：{self.log}）",
                           f"the local Spark Connect server did not start (log: {self.log})")

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process)
            self.process = None

    def __enter__(self) -> LocalConnectServer:
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
