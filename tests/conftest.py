"""Test fixtures. The suite runs on SQLite by default and on a throwaway PostgreSQL 15
cluster with ``KECHUANG_TEST_DB=postgres`` (``make test`` runs both).

Each test gets its own database, copied from a template that was migrated and seeded once
per session: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from kechuang.db import make_engine, unit_of_work
from kechuang.migrate import upgrade
from tests.support.seed import PASSWORD, seed

BACKEND = os.environ.get("KECHUANG_TEST_DB", "sqlite")
_counter = itertools.count()


def pytest_report_header(config: pytest.Config) -> str:
    return f"kechuang database backend: {BACKEND}"


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches of the throwaway databases (matcher snapshots) go to the test run's temporary
    folder, not to the checkout's var/cache."""
    before = os.environ.get("KECHUANG_CACHE_DIR")
    os.environ["KECHUANG_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("KECHUANG_CACHE_DIR", None)
    else:
        os.environ["KECHUANG_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    from tests.support.pgcluster import start_cluster

    cluster = start_cluster()
    yield cluster
    cluster.stop()


class DatabaseFactory:
    """Makes fresh databases for one backend, from the seeded template or empty."""

    def __init__(self, backend: str, workdir: Path, cluster: object | None) -> None:
        self.backend = backend
        self.workdir = workdir
        self.cluster = cluster
        self.template_url: str | None = None
        self.engines: list[Engine] = []

    def _new_url(self, from_template: bool) -> str:
        n = next(_counter)
        if self.backend == "sqlite":
            path = self.workdir / f"db{n}.sqlite3"
            if from_template:
                assert self.template_url
                shutil.copy(self.template_url.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}"
        cluster = self.cluster
        name = f"t{os.getpid()}_{n}"
        admin = make_engine(cluster.admin_url)  # type: ignore[attr-defined]
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            template = " TEMPLATE tmpl" if from_template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        admin.dispose()
        return cluster.url(name)  # type: ignore[attr-defined,no-any-return]

    def build_template(self) -> None:
        if self.backend == "sqlite":
            url = f"sqlite:///{self.workdir / 'template.sqlite3'}"
        else:
            admin = make_engine(self.cluster.admin_url)  # type: ignore[attr-defined]
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("CREATE DATABASE tmpl"))
            admin.dispose()
            url = self.cluster.url("tmpl")  # type: ignore[attr-defined]
        engine = make_engine(url)
        upgrade(engine)
        with unit_of_work(engine) as session:
            seed(session)
        engine.dispose()
        self.template_url = url

    def engine(self, seeded: bool = True) -> Engine:
        url = self._new_url(from_template=seeded)
        engine = make_engine(url)
        if not seeded:
            pass
        self.engines.append(engine)
        return engine

    def close(self) -> None:
        for e in self.engines:
            e.dispose()


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
               ) -> Iterator[DatabaseFactory]:
    cluster = request.getfixturevalue("pg_cluster") if BACKEND == "postgres" else None
    factory = DatabaseFactory(BACKEND, tmp_path_factory.mktemp("db"), cluster)
    factory.build_template()
    yield factory
    factory.close()


def _release(engine: Engine) -> None:
    """Stop job workers and close pooled connections, so a long run never exhausts the
    PostgreSQL cluster's connection slots (each test has its own database)."""
    from kechuang.db import dispose_engines
    from kechuang.jobs.service import stop_workers

    stop_workers()
    engine.dispose()
    dispose_engines()


@pytest.fixture
def engine(db_factory: DatabaseFactory) -> Iterator[Engine]:
    """A fresh, migrated database holding the seeded test county."""
    e = db_factory.engine(seeded=True)
    yield e
    _release(e)


@pytest.fixture
def empty_engine(db_factory: DatabaseFactory) -> Iterator[Engine]:
    """A fresh database with no schema at all (for migration and init tests)."""
    e = db_factory.engine(seeded=False)
    yield e
    _release(e)


@pytest.fixture
def app(engine: Engine):  # type: ignore[no-untyped-def]
    from kechuang.app import create_app

    return create_app(engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        yield c


_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def page_csrf(html: str) -> str:
    m = _CSRF_RE.search(html)
    assert m, "page has no csrf-token meta tag"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the session's CSRF token for later posts."""
    page = client.get("/login")
    token = page_csrf(page.text)
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    home = client.get("/")
    return page_csrf(home.text)


@pytest.fixture
def login_as(client: TestClient):  # type: ignore[no-untyped-def]
    def _login(username: str) -> str:
        return login(client, username)

    return _login


#: fixtures through which a test reaches the database under test
DATABASE_FIXTURES = frozenset({"db_factory", "pg_cluster"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run only the tests that reach a database: the others (engines, file
    contracts, parsers) do not depend on the backend and already ran on SQLite, so running
    them twice would only lengthen ``make test``."""
    if BACKEND != "postgres":
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        uses_db = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        (keep if uses_db else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
