"""Scoring runs written as rows (the shape kechuang.scoring writes), for the lists tests:
points, ranks, stages, tiers and vetoes chosen by the test so that every expected list,
place and amount can be computed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Enterprise, Fact, ImportBatch, Metric, RobustnessResult, RobustnessRun
from kechuang.models.base import utcnow
from kechuang.models.scoring import ScoreResult, ScoringRun
from tests.support.seed import HOME_COUNTY, HOME_TOWN, uscc

#: (enterprise number, points, stage, tier, veto)
Result = tuple[int, float | None, str | None, str | None, str | None]


def enterprise_id(session: Session, n: int, region: str = HOME_COUNTY) -> int:
    """The seed's enterprise n (1–6), or a further one in 张家港 created on demand."""
    code = uscc(n) if n <= 4 or n > 6 else uscc(n, "320581")
    found = session.scalar(select(Enterprise.id).where(Enterprise.uscc == code))
    if found is not None:
        return found
    e = Enterprise(uscc=code, name=f"张家港测试企业{n:03d}有限公司", region_code=HOME_TOWN,
                   industry_code="3973", founded_on=date(2015, 1, 1), size_class="small")
    session.add(e)
    session.flush()
    return e.id


def _ranks(points: Sequence[float | None], mask: Sequence[bool]) -> list[int | None]:
    out: list[int | None] = []
    for p, m in zip(points, mask, strict=True):
        if p is None or not m:
            out.append(None)
            continue
        out.append(1 + sum(1 for q, k in zip(points, mask, strict=True)
                           if k and q is not None and q > p))
    return out


def make_run(session: Session, results: Sequence[Result], *, system_id: str = "zjg-points",
             version: str = "2.0", year: int = 2023, region: str | None = HOME_COUNTY,
             published: bool = False, parameters: dict | None = None) -> ScoringRun:
    run = ScoringRun(system_id=system_id, system_version=version, system_name="张家港企业创新积分",
                     system_hash="a" * 64, system_source="zjg-2.0.yaml", year=year,
                     parameters=parameters or {"year": year}, input_hash="b" * 64,
                     region_code=region, enterprises=len(results),
                     vetoed=sum(1 for r in results if r[4] is not None), indicators=[],
                     groups=[], notes=[], treatment={}, published=published,
                     published_at=utcnow() if published else None, actor="test")
    session.add(run)
    session.flush()
    points = [r[1] for r in results]
    ranks = _ranks(points, [True] * len(results))
    list_ranks = _ranks(points, [r[4] is None for r in results])
    for (n, p, stage, tier, veto), rank, list_rank in zip(results, ranks, list_ranks,
                                                          strict=True):
        session.add(ScoreResult(run_id=run.id, enterprise_id=enterprise_id(session, n),
                                points=p, rank=rank, list_rank=list_rank, percentile=None,
                                stage=stage, list_tier=tier, veto=veto, groups={}))
    session.flush()
    return run


def add_robustness(session: Session, run: ScoringRun, unstable: Sequence[int],
                   stable: Sequence[int]) -> None:
    analysis = RobustnessRun(scoring_run_id=run.id, replications=100, seed=1, parameters={},
                             sensitivity={}, rule={"interval_width": 10},
                             unstable=len(unstable), actor="test")
    session.add(analysis)
    session.flush()
    for n in unstable:
        session.add(RobustnessResult(analysis_id=analysis.id,
                                     enterprise_id=enterprise_id(session, n),
                                     median_rank=3, rank_p05=1, rank_p95=20, robust=False))
    for n in stable:
        session.add(RobustnessResult(analysis_id=analysis.id,
                                     enterprise_id=enterprise_id(session, n),
                                     median_rank=1, rank_p05=1, rank_p95=2, robust=True))
    session.flush()


def add_fact(session: Session, n: int, metric: str, year: int, value: str) -> None:
    metric_id = session.scalar(select(Metric.id).where(Metric.code == metric))
    batch = session.scalar(select(ImportBatch).where(ImportBatch.filename == "lists-test.csv"))
    if batch is None:
        batch = ImportBatch(template="kjj", department_code="kjj", filename="lists-test.csv",
                            content_hash="c" * 64, layout="wide", region_code=HOME_COUNTY)
        session.add(batch)
        session.flush()
    session.add(Fact(enterprise_id=enterprise_id(session, n), metric_id=metric_id, period=year,
                     value_num=Decimal(value), batch_id=batch.id, is_current=True))
    session.flush()
