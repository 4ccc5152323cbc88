"""Pure computation of kechuang.monitoring (no database, no files): regional indicators
from an enterprise-year frame, progress and year-over-year change, task flags.

Indicators (:func:`compute_indicators`) are aggregated per (leaf region, year) once and rolled
up to every requested region through a leaf → region membership table, so a county and all
its towns for five years are a few grouped sums over one frame, whatever the number of
enterprises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from kechuang.monitoring.schemas import Indicator, IndicatorSystem, TaskRules

#: columns of the enterprise-year frame
FRAME_COLUMNS = ("enterprise_id", "region_code", "year", "section", "hte_expires_on",
                 "tech_sme_year", "rd_institution_level")


def populations(frame: pd.DataFrame, system: IndicatorSystem) -> dict[str, np.ndarray]:
    """Boolean masks of the named populations and conditions over the frame's rows."""
    year = frame["year"].to_numpy(dtype=np.int64)
    n = len(frame)
    scale = system.above_scale
    revenue = frame[scale.metric].to_numpy(dtype=np.float64) if scale.metric in frame \
        else np.full(n, np.nan)
    above = frame["section"].isin(scale.sections).to_numpy() & (revenue >= scale.min)
    expires = pd.to_datetime(frame["hte_expires_on"], errors="coerce")
    year_end = pd.to_datetime(pd.Series(year).astype(str) + "-12-31")
    # a certificate runs three years (国科发火〔2016〕32号 第十六条): valid on 31 December of
    # the year when it expires on or after that day and was issued on or before it
    issued = expires - pd.DateOffset(years=3) + pd.Timedelta(days=1)
    hte = ((expires >= year_end) & (issued <= year_end)).to_numpy()
    tech_sme = frame["tech_sme_year"].to_numpy(dtype=np.float64) == year
    level = frame["rd_institution_level"].astype(object).to_numpy()
    rd = frame["rd_expense"].to_numpy(dtype=np.float64) if "rd_expense" in frame \
        else np.full(n, np.nan)
    return {
        "all": np.ones(n, dtype=bool), "above_scale": above, "hte": hte,
        "tech_sme": tech_sme, "platform_national": level == "national",
        "platform_province": level == "province", "platform_city": level == "city",
        "rd_active": rd > 0,
    }


def compute_indicators(frame: pd.DataFrame, system: IndicatorSystem,
                       membership: pd.DataFrame) -> pd.DataFrame:
    """Computed indicators per (region, year).

    ``frame``: one row per enterprise and year (:data:`FRAME_COLUMNS` plus one float column
    per metric used, NaN when the enterprise has no fact). ``membership``: columns
    ``leaf`` (an enterprise region code) and ``region_code`` (a region it counts for).
    Returns region_code, indicator_id, year, value (NaN = no value: a sum whose population
    reported nothing, a share of an empty population)."""
    masks = populations(frame, system)
    parts: dict[str, np.ndarray] = {}
    specs: list[tuple[Indicator, str, str | None]] = []
    for ind in system.indicators:
        c = ind.compute
        if c is None:
            continue
        pop = masks[c.population]
        if c.aggregate == "count":
            parts[f"{ind.id}:n"] = pop.astype(np.float64)
            specs.append((ind, f"{ind.id}:n", None))
        elif c.aggregate == "share":
            parts[f"{ind.id}:den"] = pop.astype(np.float64)
            parts[f"{ind.id}:num"] = (pop & masks[str(c.condition)]).astype(np.float64)
            specs.append((ind, f"{ind.id}:num", f"{ind.id}:den"))
        else:
            values = frame[str(c.metric)].to_numpy(dtype=np.float64) if c.metric in frame \
                else np.full(len(frame), np.nan)
            has = pop & ~np.isnan(values)
            parts[f"{ind.id}:sum"] = np.where(has, values, 0.0)
            parts[f"{ind.id}:has"] = has.astype(np.float64)
            specs.append((ind, f"{ind.id}:sum", f"{ind.id}:has"))
    work = pd.DataFrame(parts)
    work["leaf"] = frame["region_code"].to_numpy()
    work["year"] = frame["year"].to_numpy(dtype=np.int64)
    by_leaf = work.groupby(["leaf", "year"], sort=False).sum().reset_index()
    rolled = by_leaf.merge(membership[["leaf", "region_code"]], on="leaf", how="inner")
    totals = rolled.drop(columns="leaf").groupby(["region_code", "year"], sort=True).sum()
    out = []
    for ind, num, den in specs:
        c = ind.compute
        assert c is not None
        if c.aggregate == "count":
            value = totals[num].to_numpy()
        elif c.aggregate == "share":
            d = totals[str(den)].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where(d > 0, 100.0 * totals[num].to_numpy() / d, np.nan)
        else:
            has = totals[str(den)].to_numpy()
            value = np.where(has > 0, totals[num].to_numpy() * c.scale, np.nan)
        out.append(pd.DataFrame({"region_code": totals.index.get_level_values(0),
                                 "indicator_id": ind.id,
                                 "year": totals.index.get_level_values(1),
                                 "value": value}))
    if not out:
        return pd.DataFrame(columns=["region_code", "indicator_id", "year", "value"])
    return pd.concat(out, ignore_index=True)


def progress(value: float | None, target: float | None, higher_is_better: bool
             ) -> float | None:
    """Share of the target reached (1.0 = on target); none without both numbers."""
    if value is None or target is None or value != value:
        return None
    if higher_is_better:
        return value / target if target else None
    return target / value if value else None


def yoy(value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None or value != value or previous != previous or not previous:
        return None
    return (value - previous) / abs(previous)


# --------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class TaskState:
    deadline: date
    status: str  # open, done, cancelled
    progress: int | None  # latest report
    latest_status: str | None
    last_report_on: date | None
    milestones_late: int  # past due and not done


@dataclass(frozen=True)
class TaskFlags:
    overdue: bool
    at_risk: bool
    stale: bool
    reasons: tuple[str, ...]


def task_flags(t: TaskState, today: date, rules: TaskRules) -> TaskFlags:
    """Overdue: open past its deadline. At risk: open, not overdue, and a risk status in the
    latest report, a late milestone, or little progress close to the deadline. Stale: open
    with no report for ``stale_report_days``."""
    if t.status != "open":
        return TaskFlags(False, False, False, ())
    reasons: list[str] = []
    overdue = today > t.deadline
    if overdue:
        reasons.append("overdue")
    risk = False
    if not overdue:
        if t.latest_status in rules.risk_statuses:
            risk = True
            reasons.append(f"reported_{t.latest_status}")
        if t.milestones_late:
            risk = True
            reasons.append("milestone_late")
        near = t.deadline - today <= timedelta(days=rules.near_deadline_days)
        if near and (t.progress or 0) < rules.min_progress_near_deadline:
            risk = True
            reasons.append("slow_near_deadline")
    stale = t.last_report_on is None or (today - t.last_report_on).days > rules.stale_report_days
    if stale:
        reasons.append("no_recent_report")
    return TaskFlags(overdue, risk, stale, tuple(reasons))


def flag_many(states: Sequence[TaskState], today: date, rules: TaskRules) -> list[TaskFlags]:
    return [task_flags(s, today, rules) for s in states]
