"""Tables of kechuang.matching registries: demands, achievements, commissioners, talent.

The first four classes are a contract with kechuang.dispatch (commissioners, service
requests, conflict declarations, service logs). The rest belong to the matching workflow:
technology demands (企业出题), achievements (科技成果), expert profiles, talent positions and
the talent pool, match marks and the cooperation records an agreement becomes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base, utcnow

# --------------------------------------------------------------------------- contract tables


class Commissioner(Base):
    """A technology commissioner (科技特派员) who serves enterprises.

    ``capacity`` is the number of enterprises served at once; 0 is allowed and means the
    commissioner takes no new dispatch.
    """

    __tablename__ = "commissioner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    expertise: Mapped[str] = mapped_column(Text, default="")
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceRequest(Base):
    """An enterprise asks for a commissioner (or a small team)."""

    __tablename__ = "service_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    industry_code: Mapped[str | None] = mapped_column(String(5))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    team_size: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConflictDeclaration(Base):
    """A declared conflict of interest between a person and an enterprise.

    ``person_kind`` is "commissioner" or "expert"; dispatch and expert review never assign
    a person to an enterprise they declared a conflict with.
    """

    __tablename__ = "conflict_declaration"
    __table_args__ = (Index("ix_conflict_declaration_person", "person_kind", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceLog(Base):
    """A commissioner's visit: the problem found and the result."""

    __tablename__ = "service_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commissioner_id: Mapped[int] = mapped_column(ForeignKey("commissioner.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"))
    visited_on: Mapped[date] = mapped_column(Date)
    problem: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- registries


class TechDemand(Base):
    """A technology demand (技术需求, 企业出题) posted by an enterprise.

    Status: open → matched → in_cooperation → solved / closed. ``visibility`` is "public"
    or "bureau_only"; the matcher indexes only public, open-ish demands.
    """

    __tablename__ = "tech_demand"
    __table_args__ = (Index("ix_tech_demand_region_status", "region_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    targets: Mapped[str] = mapped_column(Text, default="")
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    budget_min: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    budget_max: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    deadline: Mapped[date | None] = mapped_column(Date)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Achievement(Base):
    """A technology achievement (科技成果) owned by an institute or an enterprise.

    ``code`` is the external identifier (ChinaXiv id for the demo corpus); ``source`` names
    the origin to credit (e.g. "ChinaXiv, CC BY 4.0"). ``tech_field`` is a code of the
    editable field map (kechuang/matching/data/field_map.yaml).
    """

    __tablename__ = "achievement"
    __table_args__ = (Index("ix_achievement_region_visibility", "region_code", "visibility"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # institute, enterprise
    institute_id: Mapped[int | None] = mapped_column(ForeignKey("institute.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    title: Mapped[str] = mapped_column(String(300))
    abstract: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    discipline: Mapped[str] = mapped_column(String(60), default="")
    tech_field: Mapped[str | None] = mapped_column(String(16), index=True)
    maturity: Mapped[str] = mapped_column(String(16), default="实验室")
    trl: Mapped[int | None] = mapped_column(Integer)
    patent_numbers: Mapped[list] = mapped_column(default=list)
    transfer_modes: Mapped[list] = mapped_column(default=list)
    price_min: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    price_max: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    source: Mapped[str] = mapped_column(String(80), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ExpertProfile(Base):
    """Matching data for an expert (the ``expert`` table stays as it is): expertise text."""

    __tablename__ = "expert_profile"

    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), primary_key=True)
    expertise: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TalentPosition(Base):
    """A position of the talent demand catalogue (人才需求目录) posted by an enterprise."""

    __tablename__ = "talent_position"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(60))
    degree: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=1)
    industry_chain: Mapped[str] = mapped_column(String(60), default="")
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TalentEntry(Base):
    """A talent pool entry: personal data, stored minimally (name, field, degree, contact).

    Shown only to the bureau and to enterprises the person applied to
    (kechuang.matching.service.talent_entries_visible).
    """

    __tablename__ = "talent_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    field: Mapped[str] = mapped_column(String(60))
    degree: Mapped[str] = mapped_column(String(16))
    contact: Mapped[str] = mapped_column(String(120))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TalentApplication(Base):
    """A talent pool entry applied to a position: what lets that enterprise see the entry."""

    __tablename__ = "talent_application"
    __table_args__ = (UniqueConstraint("entry_id", "position_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("talent_entry.id"), index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("talent_position.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MatchMark(Base):
    """What people did with a suggested match of a demand and a supply.

    ``supply_kind`` is achievement / expert / institute. Status: contacted, declined (with
    ``reason_code``: too_early, benefit_unclear, price, ip, other) or agreed.
    """

    __tablename__ = "match_mark"
    __table_args__ = (UniqueConstraint("demand_id", "supply_kind", "supply_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("tech_demand.id"), index=True)
    supply_kind: Mapped[str] = mapped_column(String(16))
    supply_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column()
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cooperation(Base):
    """A cooperation agreed on a match; may be flagged to start a follow-up program.

    ``next_step`` is none / tech_contract / pre_research / challenge and ``next_step_ref``
    the link to the program record once those programs exist (stored as intent now).
    """

    __tablename__ = "cooperation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match_mark.id"), unique=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("tech_demand.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    supply_kind: Mapped[str] = mapped_column(String(16))
    supply_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="active")
    next_step: Mapped[str] = mapped_column(String(16), default="none")
    next_step_ref: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SynonymEntry(Base):
    """A synonym group added by the bureau, merged over the shipped dictionary."""

    __tablename__ = "match_synonym"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical: Mapped[str] = mapped_column(String(60), unique=True)
    variants: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
