"""Bulk writers for the demo load: raw DBAPI ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

Both write into the caller's open transaction on the same connection, so the whole demo is
one unit of work. Values arrive as integer arrays of a known number of decimals (cents of
万元, or whole counts); SQLite stores them scaled by 10^6 exactly as ``kechuang.db.scaled``
does, PostgreSQL receives them as decimal text for its NUMERIC column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Connection, ForeignKeyConstraint, Index
from sqlalchemy.schema import AddConstraint, DropConstraint

from kechuang.db import scaled
from kechuang.models import Enterprise, Fact

#: the storage factor of one unit on SQLite, taken from ``kechuang.db.scaled``
SQLITE_UNIT = scaled(Decimal(1))

ENTERPRISE_COLUMNS = (
    "id", "uscc", "name", "region_code", "industry_code", "founded_on", "size_class",
    "hte_cert_no", "hte_expires_on", "tech_sme_year", "srdi_level", "rd_institution_level",
    "in_key_tech_field", "seriously_dishonest", "abnormal_operation", "major_incident_last_year",
    "created_batch_id", "created_at",
)


@dataclass
class NumBlock:
    """Facts of one metric and period: enterprise ids and integer values of ``decimals``."""

    metric_id: int
    period: int
    batch_id: int
    ids: np.ndarray
    values: np.ndarray
    decimals: int


@dataclass
class TextBlock:
    metric_id: int
    period: int
    batch_id: int
    ids: np.ndarray
    values: Sequence[str]


Block = NumBlock | TextBlock


def fact_indexes() -> list[Index]:
    """The fact table's secondary indexes exactly as the model defines them."""
    return sorted(Fact.__table__.indexes, key=lambda ix: str(ix.name))  # type: ignore[attr-defined]


class Writer:
    """Writes enterprises and facts for one backend inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dbapi: Any = conn.connection.driver_connection

    # overridden
    def enterprises(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def facts(self, blocks: list[Block]) -> None:
        raise NotImplementedError

    def begin_bulk(self) -> None:
        for ix in fact_indexes():
            ix.drop(self.conn)

    def end_bulk(self) -> None:
        for ix in fact_indexes():
            ix.create(self.conn)


class SQLiteWriter(Writer):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        created = Enterprise.__table__.c.created_at.type
        self.created_at = created.dialect_impl(conn.dialect).bind_processor(conn.dialect)

    def enterprises(self, rows: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(ENTERPRISE_COLUMNS)
        marks = ", ".join("?" for _ in ENTERPRISE_COLUMNS)
        proc = self.created_at
        out = [(*r[:-1], proc(r[-1])) for r in rows] if proc else rows
        # bools, dates: SQLAlchemy stores 0/1 and ISO text on SQLite — the rows carry those
        self.dbapi.executemany(f"INSERT INTO enterprise ({cols}) VALUES ({marks})", out)

    def facts(self, blocks: list[Block]) -> None:
        cur = self.dbapi.cursor()
        for b in blocks:
            if not len(b.ids):
                continue
            head = "INSERT INTO fact (enterprise_id, metric_id, period, value_num, value_text, " \
                   "batch_id, is_current, superseded_by) VALUES "
            consts = (int(b.metric_id), int(b.period), int(b.batch_id))
            if isinstance(b, NumBlock):
                stored = b.values.astype(np.int64) * (SQLITE_UNIT // 10 ** b.decimals)
                sql = f"{head}(?, {consts[0]}, {consts[1]}, ?, NULL, {consts[2]}, 1, NULL)"
                cur.executemany(sql, zip(b.ids.tolist(), stored.tolist(), strict=True))
            else:
                sql = f"{head}(?, {consts[0]}, {consts[1]}, NULL, ?, {consts[2]}, 1, NULL)"
                cur.executemany(sql, zip(b.ids.tolist(), b.values, strict=True))
        cur.close()


def _decimal_text(values: np.ndarray, decimals: int) -> list[str]:
    if decimals == 0:
        return [str(v) for v in values.tolist()]
    q = 10 ** decimals
    out = []
    for v in values.tolist():
        sign = "-" if v < 0 else ""
        a = -v if v < 0 else v
        out.append(f"{sign}{a // q}.{a % q:0{decimals}d}")
    return out


class PostgresWriter(Writer):
    """COPY into the fact table. Its foreign keys are dropped for the load and added back
    afterwards: validating them once is a single join, far cheaper than one trigger call
    per row and key (the names and definitions come from the model)."""

    def _foreign_keys(self) -> list[ForeignKeyConstraint]:
        fks = Fact.__table__.foreign_key_constraints  # type: ignore[attr-defined]
        return sorted(fks, key=lambda fk: str(fk.name))

    def begin_bulk(self) -> None:
        super().begin_bulk()
        for fk in self._foreign_keys():
            self.conn.execute(DropConstraint(fk))

    def end_bulk(self) -> None:
        super().end_bulk()
        for fk in self._foreign_keys():
            self.conn.execute(AddConstraint(fk))

    def enterprises(self, rows: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(ENTERPRISE_COLUMNS)
        with self.dbapi.cursor() as cur, cur.copy(f"COPY enterprise ({cols}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)

    def facts(self, blocks: list[Block]) -> None:
        sql = ("COPY fact (enterprise_id, metric_id, period, value_num, value_text, batch_id, "
               "is_current) FROM STDIN")
        with self.dbapi.cursor() as cur, cur.copy(sql) as cp:
            for b in blocks:
                if not len(b.ids):
                    continue
                if isinstance(b, NumBlock):
                    tail = f"\t\\N\t{b.batch_id}\tt\n"
                    head = f"\t{b.metric_id}\t{b.period}\t"
                    texts = _decimal_text(b.values, b.decimals)
                    cp.write("".join(f"{e}{head}{v}{tail}"
                                     for e, v in zip(b.ids.tolist(), texts, strict=True)))
                else:
                    head = f"\t{b.metric_id}\t{b.period}\t\\N\t"
                    tail = f"\t{b.batch_id}\tt\n"
                    cp.write("".join(f"{e}{head}{_copy_escape(v)}{tail}"
                                     for e, v in zip(b.ids.tolist(), b.values, strict=True)))


def _copy_escape(v: str) -> str:
    if "\\" in v or "\t" in v or "\n" in v or "\r" in v:
        return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace(
            "\r", "\\r")
    return v


def make_writer(conn: Connection) -> Writer:
    if conn.dialect.name == "sqlite":
        return SQLiteWriter(conn)
    return PostgresWriter(conn)


__all__ = ["Block", "NumBlock", "TextBlock", "Writer", "make_writer"]
