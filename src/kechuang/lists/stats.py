"""The yearly statistics of the points scheme (spec/scoring.md; the Zhangjiagang report:
"累计5962家次企业参与积分。企业积分年均增长14%……'四个90%'").

Definitions (docs/lists.md):

- **Series**: for one system id and one region scope, per year the run that stands for
  it — the current published run (public and default), or the latest run of the year
  (``published_only=False``, the bureau's preview). Versions of the system may differ
  between years (1.0 → 2.0); the pair is then flagged.
- **Participants** of a year: enterprises the run scored (points not null), vetoed
  included (they took part; they are only kept off the lists). **Participations**
  (家次): the sum over the years; **enterprises**: distinct enterprises over the years.
- **Growth of points** from year y−1 to y (consecutive years only): over the panel of
  enterprises scored in both runs, Σ points(y) / Σ points(y−1) − 1 (a ratio of sums, so
  small denominators of single enterprises do not dominate). **Average annual growth**:
  the geometric mean of (1 + growth) over the consecutive pairs, minus 1.
- **Shares** (denominator: the year's participants): with an R&D institution
  (``rd_institution_level`` is city, province or national); with R&D spending
  (current ``rd_expense`` fact of the year > 0); cooperating with universities or
  institutes — **proxy**: current ``tech_contract_value`` fact of the year > 0, until the
  matching registries' cooperation records exist.

Every figure is one aggregate query per year (or per pair of years) over whole runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit.errors import NotFound
from kechuang.lists import repository as repo
from kechuang.models.scoring import ScoringRun

RD_INSTITUTION_LEVELS = ("city", "province", "national")
COOPERATION_PROXY = "tech_contract_value"


@dataclass
class YearStats:
    year: int
    run_id: int
    system_version: str
    published: bool
    participants: int
    vetoed: int
    listed: int
    mean_points: float | None
    with_rd_institution: int
    with_rd_expense: int
    with_cooperation: int
    growth: float | None = None  # from the previous year (consecutive years only)
    panel: int = 0  # enterprises scored in both years
    version_changed: bool = False

    def share(self, count: int) -> float | None:
        return None if self.participants == 0 else count / self.participants

    @property
    def share_rd_institution(self) -> float | None:
        return self.share(self.with_rd_institution)

    @property
    def share_rd_expense(self) -> float | None:
        return self.share(self.with_rd_expense)

    @property
    def share_cooperation(self) -> float | None:
        return self.share(self.with_cooperation)


@dataclass
class StatsReport:
    system_id: str
    system_name: str
    region_code: str | None
    published_only: bool
    years: list[YearStats] = field(default_factory=list)
    avg_growth: float | None = None
    growth_pairs: int = 0
    participations: int = 0
    enterprises: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "system_id": self.system_id, "system_name": self.system_name,
            "region_code": self.region_code, "published_only": self.published_only,
            "participations": self.participations, "enterprises": self.enterprises,
            "avg_growth": self.avg_growth, "growth_pairs": self.growth_pairs,
            "cooperation_proxy": COOPERATION_PROXY,
            "years": [
                {"year": y.year, "run_id": y.run_id, "system_version": y.system_version,
                 "published": y.published, "participants": y.participants,
                 "vetoed": y.vetoed, "listed": y.listed, "mean_points": y.mean_points,
                 "growth": y.growth, "panel": y.panel, "version_changed": y.version_changed,
                 "with_rd_institution": y.with_rd_institution,
                 "with_rd_expense": y.with_rd_expense, "with_cooperation": y.with_cooperation,
                 "share_rd_institution": y.share_rd_institution,
                 "share_rd_expense": y.share_rd_expense,
                 "share_cooperation": y.share_cooperation}
                for y in self.years
            ],
        }


def _year_stats(session: Session, run: ScoringRun, actor: Actor | None,
                rd_id: int | None, coop_id: int | None) -> YearStats:
    row = repo.year_stats_row(session, run.id, run.year, actor, rd_id, coop_id,
                              RD_INSTITUTION_LEVELS)
    return YearStats(
        year=run.year, run_id=run.id, system_version=run.system_version,
        published=bool(run.published), participants=int(row[0] or 0),
        vetoed=int(row[1] or 0), listed=int(row[2] or 0),
        mean_points=None if row[3] is None else float(row[3]),
        with_rd_institution=int(row[4] or 0), with_rd_expense=int(row[5] or 0),
        with_cooperation=int(row[6] or 0),
    )


def _pair_growth(session: Session, prev: ScoringRun, cur: ScoringRun,
                 actor: Actor | None) -> tuple[float | None, int]:
    row = repo.pair_growth_row(session, prev.id, cur.id, actor)
    n, before, after = int(row[0] or 0), row[1], row[2]
    if n == 0 or before is None or float(before) <= 0:
        return None, n
    return float(after) / float(before) - 1.0, n


def yearly_stats(session: Session, actor: Actor | None, system_id: str, *,
                 year: int | None = None, region_code: str | None = None,
                 published_only: bool = True) -> StatsReport:
    """The statistics of ``system_id`` up to ``year`` (module docstring for definitions).

    ``actor`` None is the public (published runs only, every enterprise of them); a bureau
    actor sees its own enterprises. ``region_code`` picks the run scope; by default the
    scope of the newest run of the system the caller may see."""
    runs_scope = region_code
    if region_code is None:
        candidates = [r for r in repo.series_runs_any_scope(session, system_id, published_only)
                      if actor is None or repo.run_visible(session, actor, r)]
        if not candidates:
            kind = "已发布的" if published_only else ""
            raise NotFound(f"指标体系 {system_id} 没有{kind}评分批次",
                           f"No {'published ' if published_only else ''}runs of {system_id}")
        runs_scope = candidates[0].region_code
    runs = repo.series_runs(session, system_id, runs_scope, published_only=published_only,
                            up_to_year=year)
    if actor is not None:
        runs = [r for r in runs if repo.run_visible(session, actor, r)]
    if not runs:
        raise NotFound(f"指标体系 {system_id} 在该范围内没有{'已发布的' if published_only else ''}"
                       "评分批次", f"No runs of {system_id} in that scope")
    report = StatsReport(system_id=system_id, system_name=runs[-1].system_name,
                         region_code=runs_scope, published_only=published_only)
    rd_id = repo.metric_id(session, "rd_expense")
    coop_id = repo.metric_id(session, COOPERATION_PROXY)
    factors: list[float] = []
    for i, run in enumerate(runs):
        ys = _year_stats(session, run, actor, rd_id, coop_id)
        if i > 0 and runs[i - 1].year == run.year - 1:
            ys.growth, ys.panel = _pair_growth(session, runs[i - 1], run, actor)
            ys.version_changed = runs[i - 1].system_version != run.system_version
            if ys.growth is not None:
                factors.append(1.0 + ys.growth)
        report.years.append(ys)
    report.participations = sum(y.participants for y in report.years)
    report.enterprises = repo.scored_enterprises(session, [r.id for r in runs], actor)
    if factors and all(f > 0 for f in factors):
        report.avg_growth = math.exp(sum(math.log(f) for f in factors) / len(factors)) - 1.0
    report.growth_pairs = len(factors)
    return report


def chart_data(report: StatsReport) -> dict[str, Any]:
    """What ``lists-stats.js`` draws: participants per year (bars), the shares and the
    growth of points (lines, in %)."""
    def pct(v: float | None) -> float | None:
        return None if v is None else round(v * 100, 2)

    return {
        "years": [str(y.year) for y in report.years],
        "participants": [y.participants for y in report.years],
        "share_rd_institution": [pct(y.share_rd_institution) for y in report.years],
        "share_rd_expense": [pct(y.share_rd_expense) for y in report.years],
        "share_cooperation": [pct(y.share_cooperation) for y in report.years],
        "growth": [pct(y.growth) for y in report.years],
    }
