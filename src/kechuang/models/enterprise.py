"""Enterprises, their facts (with provenance) and the import batches that brought them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base, utcnow

#: ``fact.period`` for attribute metrics (``period: attr`` in the catalogue).
ATTR_PERIOD = 0


class Enterprise(Base):
    """An enterprise, keyed by its unified social credit code.

    The qualification and flag columns are *derived*: they mirror the current attribute
    facts (``hte_cert_expires_on``, ``seriously_dishonest`` …) and are refreshed set-based
    after every import or rollback (``kechuang.ingest.attributes.refresh_derived``), so that
    list filters need no join into the facts.
    """

    __tablename__ = "enterprise"
    __table_args__ = (
        Index("ix_enterprise_region_industry", "region_code", "industry_code"),
        Index("ix_enterprise_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"), index=True)
    founded_on: Mapped[date | None] = mapped_column()
    size_class: Mapped[str | None] = mapped_column(String(8))  # micro, small, medium, large
    # derived qualifications (see refresh in kechuang.registry.service)
    hte_cert_no: Mapped[str | None] = mapped_column(String(40))
    hte_expires_on: Mapped[date | None] = mapped_column(index=True)
    tech_sme_year: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    srdi_level: Mapped[str | None] = mapped_column(String(32), index=True)
    rd_institution_level: Mapped[str | None] = mapped_column(String(16))
    in_key_tech_field: Mapped[bool | None] = mapped_column()
    # derived flags
    seriously_dishonest: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    abnormal_operation: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    major_incident_last_year: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )
    # no FK: it would close a cycle enterprise -> import_batch -> app_user -> enterprise
    created_batch_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


#: batch statuses the one-batch-per-file index covers (SQL tuple)
IN_PROGRESS_OR_COMMITTED = "('committed', 'loading', 'publishing')"


class ImportBatch(Base):
    """One imported file: who, what, when, how — the provenance every fact points to."""

    __tablename__ = "import_batch"
    __table_args__ = (
        Index("ix_import_batch_hash", "content_hash", "template"),
        # one committed (or committing) batch per file content and template: the database
        # decides between two uploads of the same file at once (migrations 0021, 0027)
        Index("uq_import_batch_committed_content", "content_hash", "template", unique=True,
              sqlite_where=text(f"status IN {IN_PROGRESS_OR_COMMITTED}"),
              postgresql_where=text(f"status IN {IN_PROGRESS_OR_COMMITTED}")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    filename: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    layout: Mapped[str] = mapped_column(String(8))  # wide, long, demo
    valid_rows_only: Mapped[bool] = mapped_column(default=False)
    #: committed, rolled_back; a long SQLite import is ``loading`` (writing pending facts),
    #: then ``publishing`` (making them current); ``failed`` when a dead one was undone
    status: Mapped[str] = mapped_column(String(16), default="committed")
    #: the periods the batch holds facts for (years; 0 for attributes; YYYYMM for months):
    #: which (department, year) a batch covers, so that a count the department reports only
    #: when above zero reads as 0 where it covered the enterprise (facts/rules/absent.yaml)
    periods: Mapped[list | None] = mapped_column(nullable=True)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    facts_new: Mapped[int] = mapped_column(default=0)
    facts_changed: Mapped[int] = mapped_column(default=0)
    facts_unchanged: Mapped[int] = mapped_column(default=0)
    enterprises_created: Mapped[int] = mapped_column(default=0)
    problems: Mapped[int] = mapped_column(default=0)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rolled_back_at: Mapped[datetime | None] = mapped_column()
    rolled_back_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    #: ``host:pid`` of the process writing a loading/publishing batch, and when it last wrote
    loader: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column()


class Fact(Base):
    """One value of one metric for one enterprise and period, with its batch.

    A corrected value does not overwrite: the old row stays with ``is_current = false`` and
    ``superseded_by`` naming the batch that replaced it, so history and rollback are exact.
    Period: ``2023`` for a year, ``202305`` for a month, ``0`` for an attribute.
    Numbers are exact (``value_num``); dates, flags and codes are text (``value_text``).
    """

    __tablename__ = "fact"
    __table_args__ = (
        Index(
            "uq_fact_current",
            "enterprise_id",
            "metric_id",
            "period",
            unique=True,
            sqlite_where=text("is_current = 1"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_fact_batch", "batch_id"),
        Index("ix_fact_superseded", "superseded_by", sqlite_where=text("superseded_by IS NOT NULL"),
              postgresql_where=text("superseded_by IS NOT NULL")),
        Index("ix_fact_metric_period", "metric_id", "period"),
        # covering index of the bulk reader (kechuang.facts.read_facts): the current values
        # of one metric and period are read from the index alone, in enterprise order
        Index("ix_fact_read", "metric_id", "period", "is_current", "enterprise_id", "value_num"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric.id"))
    period: Mapped[int] = mapped_column(Integer)
    value_num: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    value_text: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    is_current: Mapped[bool] = mapped_column(default=True)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class ImportUpload(Base):
    """A file uploaded through a page or the API, held until its import job has run
    (issue 11, item 6): the job worker may be another process, so the bytes wait here."""

    __tablename__ = "import_upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    template: Mapped[str] = mapped_column(String(64))
    dry_run: Mapped[bool] = mapped_column(default=False)
    valid_rows_only: Mapped[bool] = mapped_column(default=False)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
