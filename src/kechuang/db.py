"""Database engine, sessions and the unit of work.

Services receive a :class:`~sqlalchemy.orm.Session` and never commit; the caller (a web
request, a CLI command) owns the unit of work and commits once, together with its audit rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Engine, Numeric, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from kechuang.config import get_settings

#: Decimal places kept for every exact quantity (facts in 万元 keep 0.01 CNY).
DECIMAL_SCALE = 6
_SCALE = Decimal(10) ** DECIMAL_SCALE


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal on every backend.

    PostgreSQL stores ``NUMERIC(24, 6)``. SQLite has no exact decimal type (it would store
    a float), so there the value is kept as a scaled 64-bit integer — exact, ordered and
    comparable in SQL, and converted back to :class:`~decimal.Decimal` on the way out.
    """

    impl = Numeric(24, DECIMAL_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, DECIMAL_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value if isinstance(value, Decimal) else Decimal(str(value))
        if dialect.name == "sqlite":
            return int((value * _SCALE).to_integral_value())
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return plain(Decimal(int(value)) / _SCALE)
        return plain(Decimal(value))


def plain(value: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form (``1500``, not ``1.5E+3``)."""
    value = value.normalize()
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        value = value.quantize(Decimal(1))
    return value


def scaled(value: Decimal) -> int:
    """The SQLite storage form of an exact decimal (for bulk paths that bypass the ORM)."""
    return int((value * _SCALE).to_integral_value())


def normalise_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL and always use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(get_settings().sqlite_busy_timeout_ms)}")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **_pool_args())
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **_pool_args())


def _pool_args() -> dict[str, Any]:
    """Pool sized with the server's worker threads (docs/settings.md, docs/security.md)."""
    settings = get_settings()
    return {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout}


_engines: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process."""
    if url is None:
        url = get_settings().database_url
    url = normalise_url(url)
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back if it raises."""
    session = session_factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_sqlite(session_or_engine: Session | Engine) -> bool:
    bind = (session_or_engine.get_bind() if isinstance(session_or_engine, Session)
            else session_or_engine)
    return bind.dialect.name == "sqlite"


def begin_immediate(session: Session) -> None:
    """On SQLite, open the transaction with the write lock (``BEGIN IMMEDIATE``) unless one
    is open. A transaction that read before its first write cannot take the lock once
    another writer committed meanwhile (SQLite answers "database is locked" at once, without
    waiting): work that reads, then writes, under concurrent writers starts this way."""
    if is_sqlite(session):
        dbapi: Any = session.connection().connection.driver_connection
        if not dbapi.in_transaction:
            dbapi.execute("BEGIN IMMEDIATE")


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """``session.begin_nested()`` that is safe on SQLite too: Python's sqlite3 opens its
    transaction only before the first write, so a SAVEPOINT issued before any write *is* the
    outermost transaction and its RELEASE commits everything at once — a later kill or
    failure would then leave half a unit of work. An explicit BEGIN first keeps the savepoint
    nested in the caller's transaction (ledger.repository does the same with BEGIN
    IMMEDIATE)."""
    if is_sqlite(session):
        dbapi: Any = session.connection().connection.driver_connection
        if not dbapi.in_transaction:
            dbapi.execute("BEGIN")
    with session.begin_nested():
        yield


BULK_CHUNK = 50_000


def bulk_insert(session: Session, table: str, names: list[str], columns: list[list[Any]]) -> int:
    """Insert many rows given column-wise, inside the session's transaction, straight on the
    DBAPI: ``executemany`` in chunks on SQLite, ``COPY … FROM STDIN`` on PostgreSQL (per-row
    parameter dictionaries through SQLAlchemy cost several times more at 10^5–10^6 rows).
    Values must already be what the driver stores (Python ints/floats/str/None; scaled
    integers for ``ExactDecimal`` on SQLite)."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return 0
    quoted = ", ".join(f'"{c}"' for c in names)
    dbapi: Any = session.connection().connection.driver_connection
    if is_sqlite(session):
        marks = ", ".join("?" for _ in names)
        cursor = dbapi.cursor()
        try:
            for start in range(0, n, BULK_CHUNK):
                cursor.executemany(
                    f"INSERT INTO {table} ({quoted}) VALUES ({marks})",
                    zip(*(c[start:start + BULK_CHUNK] for c in columns), strict=True))
        finally:
            cursor.close()
    else:
        with dbapi.cursor() as cursor, cursor.copy(
                f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)
    return n
