"""Institutes, experts and banks: the other parties a bureau works with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow


class Institute(Base):
    """A university, research institute or new-type R&D institution (新型研发机构)."""

    __tablename__ = "institute"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))  # university, institute, new_rd
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    fields: Mapped[list] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Expert(Base):
    """A review expert: fields, affiliation, titles and declared conflicts of interest."""

    __tablename__ = "expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    title: Mapped[str | None] = mapped_column(String(60))
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    fields: Mapped[list] = mapped_column(default=list)
    conflicts: Mapped[list] = mapped_column(default=list)  # uscc of enterprises declared
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bank(Base):
    """A financial institution that offers technology-finance products."""

    __tablename__ = "bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
