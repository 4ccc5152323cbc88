"""Tables of the departmental intake: bureau-edited import templates and problem reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow


class ImportTemplateVersion(Base):
    """A bureau-edited version of an import template (YAML text, validated before saving).

    The newest version of a name overrides the built-in file of that name; older versions
    stay for the audit trail and can be read back.
    """

    __tablename__ = "import_template_version"
    __table_args__ = (Index("ix_import_template_version_name", "name", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    yaml_text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportReport(Base):
    """The problem report of an import, kept so that it can be downloaded later as XLSX.

    ``problems`` holds rows of [sheet, row, column, value, reason] (capped; ``problem_count``
    is the full number).
    """

    __tablename__ = "import_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str | None] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list] = mapped_column(default=list)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
