"""Reading the enterprise registry: the filtered list, one enterprise with every fact and its
provenance, and the display rules (badges, value formatting) both pages and the API share.

Reads by a bank or an expert are audited here, in the service, so that every page or API
that later lets those roles see an enterprise inherits the audit row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.facts import service as facts_service
from kechuang.kit import audit
from kechuang.kit.errors import NotFound
from kechuang.registry import repository as repo
from kechuang.registry.catalogue import metrics_by_code
from kechuang.registry.reference import display_industry_code, industry_index
from kechuang.registry.schemas import (
    PER_PAGE,
    BadgeOut,
    EnterpriseDetail,
    EnterpriseFilters,
    EnterprisePage,
    EnterpriseRow,
    FactOut,
    InferredOut,
    RegionOut,
)
from kechuang.web.i18n import translate

#: roles whose every read of enterprise data leaves an audit row
AUDITED_READERS = frozenset({"bank", "expert"})
_TRUE = frozenset({"true", "1", "yes", "y", "是", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "否", "f"})
CHART_METRICS = ("revenue", "rd_expense")


def today_local() -> date:
    """Today in the installation's zone (Asia/Shanghai): certificate validity is by local day."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


# ---------------------------------------------------------------- formatting

def format_decimal(value: Decimal, min_places: int = 0) -> str:
    """Thousands separators; never rounds away digits, pads to ``min_places`` decimals."""
    exponent = value.normalize().as_tuple().exponent
    shown = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{value:,.{max(min_places, shown)}f}"


def format_value(value_type: str, unit: str | None, value_num: Decimal | None,
                 value_text: str | None, locale: str = "zh", metric: str | None = None) -> str:
    """A fact value as the pages show it: 万元 with two decimals, counts as integers,
    a year as a year (2026, not 2,026), booleans as 是/否, enumerations by name."""
    if value_num is not None:
        if metric is not None and metric.endswith("_year") and value_num == value_num.to_integral():
            return str(int(value_num))
        if value_type == "integer":
            return format_decimal(value_num)
        return format_decimal(value_num, 2 if unit == "万元" else 0)
    if value_text is None:
        return "—"
    if value_type == "bool":
        low = value_text.strip().lower()
        if low in _TRUE:
            return translate("registry.bool.true", locale)
        if low in _FALSE:
            return translate("registry.bool.false", locale)
    if value_type == "enum":
        key = f"registry.enum.{value_text}"
        text = translate(key, locale)
        return value_text if text == key else text
    return value_text


def format_period(period_type: str, period: int) -> str:
    if period_type == "month":
        return f"{period // 100}-{period % 100:02d}"
    if period_type == "year":
        return str(period)
    return "—"


def badges_of(row: Any, today: date, locale: str) -> list[BadgeOut]:
    """Qualification and flag badges from the derived enterprise columns."""
    t = lambda key, **kw: translate(key, locale, **kw)  # noqa: E731
    out: list[BadgeOut] = []
    if row.hte_expires_on is not None:
        if row.hte_expires_on >= today:
            out.append(BadgeOut(code="hte", label=t("registry.badge.hte"), tone="ok"))
        else:
            out.append(BadgeOut(code="hte_expired", label=t("registry.badge.hte_expired")))
    if row.tech_sme_year is not None:
        out.append(BadgeOut(code="tech_sme", tone="ok",
                            label=t("registry.badge.tech_sme", year=row.tech_sme_year)))
    if row.srdi_level in ("province", "national_little_giant"):
        out.append(BadgeOut(code=f"srdi_{row.srdi_level}", tone="ok",
                            label=t(f"registry.badge.srdi_{row.srdi_level}")))
    if row.rd_institution_level and row.rd_institution_level != "none":
        level = t(f"registry.level.{row.rd_institution_level}")
        out.append(BadgeOut(code="rd_institution", tone="ok",
                            label=t("registry.badge.rd_institution", level=level)))
    if row.seriously_dishonest:
        out.append(BadgeOut(code="dishonest", tone="bad", label=t("registry.badge.dishonest")))
    if row.abnormal_operation:
        out.append(BadgeOut(code="abnormal", tone="warn", label=t("registry.badge.abnormal")))
    if row.major_incident_last_year:
        out.append(BadgeOut(code="incident", tone="bad", label=t("registry.badge.incident")))
    return out


def _industry_name(code: str | None, locale: str) -> str | None:
    if not code:
        return None
    entry = industry_index().get(code)
    return entry[1] if entry else None


# ---------------------------------------------------------------- list

def list_enterprises(session: Session, actor: Actor, filters: EnterpriseFilters,
                     locale: str = "zh", per_page: int = PER_PAGE) -> EnterprisePage:
    """One page of the enterprises the actor may see, with the total count."""
    today = today_local()
    where = repo.list_predicates(session, actor, filters, today)
    total = repo.count_enterprises(session, where)
    pages = max(1, math.ceil(total / per_page))
    page = min(filters.page, pages)
    rows = repo.enterprise_rows(session, where, (page - 1) * per_page, per_page, total)
    items = [
        EnterpriseRow(
            uscc=r.uscc, name=r.name, region_code=r.region_code, region_name=r.region_name,
            industry_code=r.industry_code, industry_display=display_industry_code(r.industry_code)
            or None, industry_name=r.industry_name, badges=badges_of(r, today, locale),
        )
        for r in rows
    ]
    if actor.role in AUDITED_READERS:
        audit.record(session, actor, "enterprise.list", "enterprise", None,
                     after={"filters": filters.model_dump(), "shown": [i.uscc for i in items]})
    return EnterprisePage(total=total, page=page, pages=pages, per_page=per_page, items=items)


@dataclass
class FilterOptions:
    regions: list[Any]
    industries: list[Any]


def filter_options(session: Session, actor: Actor) -> FilterOptions:
    return FilterOptions(regions=repo.region_options(session, actor),
                         industries=repo.industry_options(session))


# ---------------------------------------------------------------- detail

def _fact_out(r: Any, locale: str) -> FactOut:
    return FactOut(
        metric=r.metric, metric_name=r.name_en if locale == "en" else r.name_zh, unit=r.unit,
        period=r.period, value=r.value_num, value_text=r.value_text,
        display=format_value(r.value_type, r.unit, r.value_num, r.value_text, locale,
                             metric=r.metric),
        batch_id=r.batch_id, department=r.department_code,
        department_name=r.dept_en if locale == "en" else r.dept_zh,
        batch_filename=r.filename, batch_at=r.batch_at, superseded_by=r.superseded_by,
    )


def visible_enterprise(session: Session, actor: Actor, uscc: str) -> Any:
    """The enterprise with credit code ``uscc`` if it is in ``actor``'s scope (no audit
    row: for callers that record their own)."""
    return repo.visible_enterprise(session, actor, uscc)


def _find(session: Session, actor: Actor, uscc: str) -> Any:
    enterprise = repo.visible_enterprise(session, actor, uscc.strip().upper())
    if enterprise is None:
        # the same answer whether it does not exist or lies outside the actor's scope
        raise NotFound("企业不存在或不在您的权限范围内", "No such enterprise in your scope")
    if actor.role in AUDITED_READERS:
        audit.record(session, actor, "enterprise.read", "enterprise", enterprise.uscc,
                     region_code=enterprise.region_code)
    return enterprise


def enterprise_detail(session: Session, actor: Actor, uscc: str,
                      locale: str = "zh") -> EnterpriseDetail:
    """Master data, derived qualifications, current facts and superseded history."""
    e = _find(session, actor, uscc)
    region_path = repo.region_path(session, e.region_code)
    chain = [RegionOut(code=r.code, name=r.name) for r in repo.region_chain(session, region_path)]
    facts = [_fact_out(r, locale) for r in
             facts_service.with_provenance(session, e.id, current=True)]
    history = [_fact_out(r, locale) for r in
               facts_service.with_provenance(session, e.id, current=False)]
    inferred = _inferred(session, actor, e.id, facts, locale)
    return EnterpriseDetail(
        uscc=e.uscc, name=e.name, region_code=e.region_code, region_path=chain,
        industry_code=e.industry_code,
        industry_display=display_industry_code(e.industry_code) or None,
        industry_name=_industry_name(e.industry_code, locale), founded_on=e.founded_on,
        size_class=e.size_class, hte_cert_no=e.hte_cert_no, hte_expires_on=e.hte_expires_on,
        tech_sme_year=e.tech_sme_year, srdi_level=e.srdi_level,
        rd_institution_level=e.rd_institution_level,
        seriously_dishonest=e.seriously_dishonest, abnormal_operation=e.abnormal_operation,
        major_incident_last_year=e.major_incident_last_year,
        badges=badges_of(e, today_local(), locale), facts=facts, history=history,
        inferred=inferred,
    )


def _bilingual(text: str, locale: str) -> str:
    """The half of a "中文 English" rule text in the user's language."""
    for i, ch in enumerate(text):
        if ch.isascii() and ch.isalpha():
            return text[i:].strip() if locale == "en" else text[:i].strip()
    return text


def _inferred(session: Session, actor: Actor, enterprise_id: int, facts: list[FactOut],
              locale: str) -> list[InferredOut]:
    """The yearly values inferred as zero for the years the enterprise has facts for."""
    catalogue = metrics_by_code()
    years = {f.period for f in facts if 1900 < f.period < 10000}
    out = []
    for code, year, value, reason in facts_service.inferred_cells(session, actor,
                                                                  enterprise_id, years):
        m = catalogue[code]
        out.append(InferredOut(
            metric=code, metric_name=m.name_en if locale == "en" else m.name_zh, unit=m.unit,
            period=year, display=format_value(m.value_type, m.unit, Decimal(str(value)), None,
                                              locale),
            reason=_bilingual(reason, locale)))
    return out


@dataclass
class YearlyRow:
    metric: str
    name: str
    unit: str | None
    cells: dict[int, FactOut]
    inferred: dict[int, InferredOut] = field(default_factory=dict)


@dataclass
class MonthlyBlock:
    metric: str
    name: str
    unit: str | None
    years: list[tuple[int, list[FactOut | None]]]


@dataclass
class DetailView:
    """The detail page's arrangement of the facts: a metric × year table, monthly blocks,
    attributes, the batches they came from and the chart option."""

    years: list[int] = field(default_factory=list)
    yearly: list[YearlyRow] = field(default_factory=list)
    monthly: list[MonthlyBlock] = field(default_factory=list)
    attributes: list[FactOut] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)
    chart: dict[str, Any] | None = None


def arrange(session: Session, detail: EnterpriseDetail, locale: str) -> DetailView:
    catalogue = metrics_by_code()
    view = DetailView()
    yearly: dict[str, YearlyRow] = {}
    monthly: dict[str, dict[int, list[FactOut | None]]] = {}
    monthly_meta: dict[str, FactOut] = {}
    for f in detail.facts:
        kind = catalogue[f.metric].period_type if f.metric in catalogue else (
            "attr" if f.period == 0 else "month" if f.period > 9999 else "year")
        if kind == "year":
            row = yearly.setdefault(f.metric, YearlyRow(f.metric, f.metric_name, f.unit, {}))
            row.cells[f.period] = f
        elif kind == "month":
            year, month = divmod(f.period, 100)
            monthly.setdefault(f.metric, {}).setdefault(year, [None] * 12)[month - 1] = f
            monthly_meta[f.metric] = f
        else:
            view.attributes.append(f)
    for i in detail.inferred:
        row = yearly.setdefault(i.metric, YearlyRow(i.metric, i.metric_name, i.unit, {}))
        row.inferred[i.period] = i
    view.years = sorted({y for row in yearly.values() for y in row.cells})
    view.yearly = list(yearly.values())
    view.monthly = [
        MonthlyBlock(code, monthly_meta[code].metric_name, monthly_meta[code].unit,
                     sorted(by_year.items()))
        for code, by_year in monthly.items()
    ]
    ids = {f.batch_id for f in detail.facts} | {f.batch_id for f in detail.history} | {
        f.superseded_by for f in detail.history if f.superseded_by}
    view.sources = repo.batches(session, ids)
    view.chart = chart_option(yearly, locale)
    return view


def chart_option(yearly: dict[str, YearlyRow], locale: str) -> dict[str, Any] | None:
    """ECharts option for revenue and R&D expense by year; values as exact decimal strings."""
    rows = [yearly[c] for c in CHART_METRICS if c in yearly]
    if not rows:
        return None
    years = sorted({y for r in rows for y in r.cells})
    series = [
        {"name": r.name, "type": "line", "smooth": False, "connectNulls": False,
         "data": [format(r.cells[y].value, "f") if y in r.cells and r.cells[y].value is not None
                  else None for y in years]}
        for r in rows
    ]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [str(y) for y in years]},
        "yAxis": {"type": "value"},  # the unit (万元) is in the section title
        "series": series,
    }


def own_uscc(session: Session, actor: Actor) -> str:
    """The credit code of an enterprise account's own enterprise."""
    uscc = repo.own_uscc(session, actor)
    if uscc is None:
        raise NotFound("本账号未关联企业", "This account is not linked to an enterprise")
    return uscc
