"""Reference data: the region tree, the industry classification, departments and metrics."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base


class Region(Base):
    """A node of the region tree: GB/T 2260 codes, local 9-digit codes for towns and parks.

    ``path`` is the chain of codes from the root, ``/32/3205/320582/320582100/``, so that a
    subtree is one ``LIKE 'prefix%'`` — scope checks stay a single indexed predicate.
    """

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(12))  # province, city, county, town, park
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    path: Mapped[str] = mapped_column(String(80), index=True)


class Industry(Base):
    """GB/T 4754-2017: 门类 (letter), 大类 (2 digits), 中类 (3), 小类 (4)."""

    __tablename__ = "industry"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(120))
    parent_code: Mapped[str | None] = mapped_column(String(5))
    section: Mapped[str] = mapped_column(String(1), index=True)


class Department(Base):
    """A data-supplying department (税务局, 统计局, 知识产权局, 人社局, 科技局 …)."""

    __tablename__ = "department"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))


class Metric(Base):
    """One entry of the metric catalogue (``metrics.yaml`` plus the project's additions)."""

    __tablename__ = "metric"
    __table_args__ = (Index("ix_metric_code", "code", unique=True),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str | None] = mapped_column(String(16))
    period_type: Mapped[str] = mapped_column(String(8))  # year, month, attr
    value_type: Mapped[str] = mapped_column(String(8))  # number, integer, date, bool, enum, text
    allowed_values: Mapped[list | None] = mapped_column()
    min_value: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    max_value: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    source_departments: Mapped[list] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(String(400))
    builtin: Mapped[bool] = mapped_column(default=True)
