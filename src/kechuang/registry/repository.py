"""SQL of the registry. Every query over enterprises is ANDed with
``kechuang.auth.scope.enterprise_visible`` — there is no other way in.

The list stays fast at 100,000 enterprises because every filter is one indexable predicate
on ``enterprise`` itself (the derived qualification columns exist so that no filter joins
into ``fact``): credit-code prefixes become a range on the unique index, divisions a range on
``ix_enterprise_industry_code``, qualifications use their own indexes, and the page is one
``ORDER BY name LIMIT 50`` (``ix_enterprise_name``) plus one ``count(*)``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, func, insert, literal_column, select
from sqlalchemy.orm import Session, aliased

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_in_scope, regions_in_scope
from kechuang.kit.errors import InvalidInput
from kechuang.models import Department, Enterprise, ImportBatch, Industry, Region
from kechuang.registry import reference
from kechuang.registry.schemas import EnterpriseFilters

#: a search term that looks like (the start of) a credit code rather than a name
_CODE_LIKE = re.compile(r"^[0-9A-Z]{6,18}$")
_SECTION = re.compile(r"^[A-T]$")
_DIVISION = re.compile(r"^\d{2}$")
#: most options the region select shows before it falls back to county level only
MAX_REGION_OPTIONS = 400


def is_code_like(q: str) -> bool:
    """Six or more letters/digits with at least one digit: a credit code (prefix)."""
    text = q.strip().upper()
    return bool(_CODE_LIKE.match(text)) and any(ch.isdigit() for ch in text)


#: a credit-code prefix matching more codes than this is searched without its index range
SELECTIVE_PREFIX = 5000


def _prefix_is_selective(session: Session, low: str, high: str) -> bool:
    """Whether an index range over ``[low, high]`` holds few codes. Probed on the unique
    index alone (at most SELECTIVE_PREFIX entries read): the first eight characters of a
    credit code are shared by a whole county, so a short prefix is no filter at all, and
    SQLite's planner cannot tell (it keeps no histograms)."""
    probe = (select(Enterprise.uscc).where(Enterprise.uscc >= low, Enterprise.uscc <= high)
             .limit(SELECTIVE_PREFIX + 1).subquery())
    return int(session.scalar(select(func.count()).select_from(probe)) or 0) <= SELECTIVE_PREFIX


def search_predicate(q: str, session: Session | None = None) -> ColumnElement[bool] | None:
    text = q.strip()
    if not text:
        return None
    dialect = session.get_bind().dialect.name if session is not None else "sqlite"
    if is_code_like(text):
        prefix = text.upper()
        low, high = prefix, prefix.ljust(18, "Z")
        exact = Enterprise.uscc.startswith(prefix, autoescape=True)
        if dialect == "sqlite" and session is not None and not _prefix_is_selective(
                session, low, high):
            # a LIKE alone is no index candidate: the planner keeps its usual plan
            return exact
        # a range on the unique index (credit codes use only 0-9 and A-Z, so prefix + "Z…"
        # is the largest code with this prefix under any collation), LIKE for exactness
        return and_(Enterprise.uscc >= low, Enterprise.uscc <= high, exact)
    if dialect == "sqlite":
        # SQLite's LIKE already ignores ASCII case; lower() on every row would double the scan
        return Enterprise.name.contains(text, autoescape=True)
    return Enterprise.name.icontains(text, autoescape=True)  # ILIKE: same result as SQLite


def industry_predicate(code: str) -> ColumnElement[bool]:
    """A GB/T 4754 section letter or a two-digit division (大类), with everything below it."""
    code = code.strip().upper()
    if _SECTION.match(code) and code in reference.industry_index():
        return Enterprise.industry_code.in_(select(Industry.code).where(Industry.section == code))
    if _DIVISION.match(code) and code in reference.industry_index():
        # division codes and their groups/classes are digits only: one index range
        return and_(Enterprise.industry_code >= code, Enterprise.industry_code <= code + "99")
    raise InvalidInput(f"行业代码无效：{code}（应为门类字母或2位大类代码）",
                       f"Invalid industry code: {code} (a section letter or 2 digits)",
                       field="industry")


def region_predicate(session: Session, actor: Actor, code: str) -> ColumnElement[bool]:
    region = session.execute(select(Region.code, Region.path).where(Region.code == code)).first()
    if region is None or not region_in_scope(actor, region.path):
        raise InvalidInput(f"区域不存在或不在您的辖区内：{code}",
                           f"Unknown region or outside your scope: {code}", field="region")
    children = session.scalar(select(func.count()).select_from(Region)
                              .where(Region.parent_code == code))
    if not children:
        return Enterprise.region_code == code
    return Enterprise.region_code.in_(
        select(Region.code).where(Region.path.startswith(region.path, autoescape=True)))


def qualification_predicate(qual: str, today: date) -> ColumnElement[bool]:
    match qual:
        case "hte":
            return Enterprise.hte_expires_on >= today
        case "tech_sme":
            return Enterprise.tech_sme_year.is_not(None)
        case "srdi":
            return Enterprise.srdi_level.in_(("province", "national_little_giant"))
        case "little_giant":
            return Enterprise.srdi_level == "national_little_giant"
        case "rd_institution":
            return and_(Enterprise.rd_institution_level.is_not(None),
                        Enterprise.rd_institution_level != "none")
        case "dishonest":
            return Enterprise.seriously_dishonest.is_(True)
        case "abnormal":
            return Enterprise.abnormal_operation.is_(True)
    raise InvalidInput(f"未知的资质筛选：{qual}", f"Unknown qualification filter: {qual}")


def list_predicates(session: Session, actor: Actor, filters: EnterpriseFilters,
                    today: date) -> list[ColumnElement[bool]]:
    visible = enterprise_visible(actor)
    if actor.is_bureau and session.get_bind().dialect.name == "sqlite":
        # A bureau sees most of the table, but SQLite without statistics (no ANALYZE yet)
        # takes "region_code IN (…)" for a selective index and reads every enterprise through
        # it. likelihood() only tells the planner so; the predicate itself is unchanged.
        visible = cast(ColumnElement[bool],
                       func.likelihood(visible, literal_column("0.9375")))
    where: list[ColumnElement[bool]] = [visible]
    search = search_predicate(filters.q, session)
    if search is not None:
        where.append(search)
    if filters.region:
        where.append(region_predicate(session, actor, filters.region))
    if filters.industry:
        where.append(industry_predicate(filters.industry))
    if filters.qual:
        where.append(qualification_predicate(filters.qual, today))
    return where


def count_enterprises(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count()).select_from(Enterprise).where(*where)) or 0)


def enterprise_rows(session: Session, where: list[ColumnElement[bool]], offset: int,
                    limit: int, total: int | None = None) -> list[Any]:
    """One page: the enterprise columns the list shows, with region and industry names.

    Pages in the back half are read from the end (``ORDER BY … DESC`` with the mirrored
    offset), so that the deepest page skips at most half of the rows instead of all of them.
    """
    order: tuple[Any, ...] = (Enterprise.name, Enterprise.id)
    if total is not None and offset > total - offset - limit:
        limit = min(limit, total - offset)
        offset = max(0, total - offset - limit)
        order = (Enterprise.name.desc(), Enterprise.id.desc())
    page = (
        select(Enterprise.id).where(*where)
        .order_by(*order).offset(offset).limit(limit)
        .subquery()
    )
    return list(session.execute(
        select(
            Enterprise.uscc, Enterprise.name, Enterprise.region_code, Enterprise.industry_code,
            Enterprise.hte_expires_on, Enterprise.tech_sme_year, Enterprise.srdi_level,
            Enterprise.rd_institution_level, Enterprise.seriously_dishonest,
            Enterprise.abnormal_operation, Enterprise.major_incident_last_year,
            Region.name.label("region_name"), Industry.name.label("industry_name"),
        )
        .join(page, page.c.id == Enterprise.id)
        .join(Region, Region.code == Enterprise.region_code)
        .outerjoin(Industry, Industry.code == Enterprise.industry_code)
        .order_by(Enterprise.name, Enterprise.id)
    ))


def region_options(session: Session, actor: Actor) -> list[Any]:
    """Counties, towns and parks strictly below the actor's own region (the filter select)."""
    levels = ("county", "town", "park")
    base = (select(Region.code, Region.name, Region.level, Region.path)
            .where(regions_in_scope(actor), Region.level.in_(levels))
            .order_by(Region.path))
    if actor.region_code:
        base = base.where(Region.code != actor.region_code)
    rows = list(session.execute(base.limit(MAX_REGION_OPTIONS + 1)))
    if len(rows) > MAX_REGION_OPTIONS:
        rows = list(session.execute(base.where(Region.level == "county")
                                    .limit(MAX_REGION_OPTIONS)))
    return rows


def industry_options(session: Session) -> list[Any]:
    """Sections (门类) and divisions (大类) with their names, in classification order."""
    return list(session.execute(
        select(Industry.code, Industry.level, Industry.name, Industry.section)
        .where(Industry.level <= 2).order_by(Industry.section, Industry.level, Industry.code)
    ))


def visible_enterprise(session: Session, actor: Actor, uscc: str) -> Enterprise | None:
    return session.scalar(select(Enterprise).where(Enterprise.uscc == uscc,
                                                   enterprise_visible(actor)))


def region_chain(session: Session, path: str) -> list[Any]:
    """The regions along a path, root first."""
    codes = [c for c in path.split("/") if c]
    rows = {r.code: r for r in session.execute(
        select(Region.code, Region.name).where(Region.code.in_(codes)))}
    return [rows[c] for c in codes if c in rows]


def batches(session: Session, ids: set[int]) -> list[Any]:
    if not ids:
        return []
    dept = aliased(Department)
    return list(session.execute(
        select(ImportBatch.id, ImportBatch.filename, ImportBatch.created_at,
               ImportBatch.status, ImportBatch.template, dept.name_zh, dept.name_en)
        .join(dept, dept.code == ImportBatch.department_code)
        .where(ImportBatch.id.in_(ids)).order_by(ImportBatch.id)
    ))



def existing_codes(session: Session, model: Any) -> set[str]:
    """The codes already in a reference table (Department, Metric, Industry, Region)."""
    return set(session.scalars(select(model.code)))


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]],
                chunk: int = 5000) -> None:
    """Bulk-insert reference rows, ``chunk`` at a time."""
    for start in range(0, len(rows), chunk):
        session.execute(insert(model), rows[start : start + chunk])


def region_path(session: Session, code: str) -> str:
    """The path of a region (which must exist)."""
    return session.get_one(Region, code).path


def own_uscc(session: Session, actor: Actor) -> str | None:
    """The credit code of an enterprise account's own enterprise (None: not linked)."""
    return session.scalar(select(Enterprise.uscc).where(
        Enterprise.id == actor.enterprise_id, enterprise_visible(actor)))
