"""JSON API of the lists: the public current lists, the bureau's runs, publishing, payment
lists and the yearly statistics (routes under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

from kechuang.kit.errors import NotFound
from kechuang.lists import repository as repo
from kechuang.lists import service, stats
from kechuang.lists.schemas import (
    ListEntryOut,
    ListOut,
    PaymentListOut,
    PaymentOut,
    RunOut,
    StatsOut,
)
from kechuang.lists.schemes import shipped_scheme
from kechuang.models.scoring import ScoringRun
from kechuang.web.deps import BUREAU, DB, EVERYONE, CurrentActor, OptYear, RowId, allow

router = APIRouter(tags=["lists"])
ADMIN = frozenset({"bureau_admin"})


def _run_out(run: ScoringRun, current: bool) -> RunOut:
    return RunOut(id=run.id, system_id=run.system_id, system_name=run.system_name,
                  system_version=run.system_version, year=run.year,
                  region_code=run.region_code, published=bool(run.published),
                  published_at=run.published_at, current=current)


def _list_out(view: service.ListView, bureau: bool) -> ListOut:
    entries = [
        ListEntryOut(stage=e.row.stage, tier=tb.tier, place=e.row.stage_rank, name=e.row.name,
                     uscc=e.row.uscc if bureau else None,
                     industry=e.row.industry_name or e.row.industry_code,
                     region=e.row.region_name, points=e.row.points,
                     robust=None if e.robustness is None else e.robustness[3])
        for block in view.stages for tb in block.tiers for e in tb.entries
    ]
    return ListOut(run=_run_out(view.run, view.current), entries=entries)


@router.get("/lists", dependencies=[allow(EVERYONE)])
def current_lists(db: DB) -> list[RunOut]:
    """The current published run of every (system, year, region scope)."""
    return [_run_out(r, True) for r in repo.current_runs(db)]


@router.get("/lists/stats", dependencies=[allow(BUREAU)])
def yearly_stats(db: DB, actor: CurrentActor, system: str, year: OptYear = None,
                 unpublished: bool = False) -> StatsOut:
    """Statistics of a system's runs up to ``year`` over the caller's enterprises (published
    runs only unless ``unpublished``)."""
    report = stats.yearly_stats(db, actor, system, year=year, published_only=not unpublished)
    return StatsOut.model_validate(report.as_dict())


@router.get("/lists/{run_id}", dependencies=[allow(EVERYONE)])
def run_lists(db: DB, actor: CurrentActor, run_id: RowId) -> ListOut:
    """A run's lists: published runs for everyone (no credit codes); the bureau also sees
    its unpublished runs, with credit codes, limited to its enterprises."""
    run = service.find_run(db, run_id)
    if run is not None and actor.is_bureau and repo.run_visible(db, actor, run):
        return _list_out(service.list_view(db, actor, run, public=False), bureau=True)
    if run is None or not run.published:
        raise NotFound(f"榜单 {run_id} 不存在或未发布", f"List {run_id} not found")
    # published lists are public: a bureau of another region sees them as everyone does
    return _list_out(service.list_view(db, actor, run, public=True), bureau=False)


@router.post("/lists/{run_id}/publish", dependencies=[allow(ADMIN)])
def publish(db: DB, actor: CurrentActor, run_id: RowId) -> RunOut:
    run = service.do_publish_run(db, actor, run_id)
    return _run_out(run, True)


@router.get("/lists/{run_id}/dividends", dependencies=[allow(BUREAU)])
def dividends(db: DB, actor: CurrentActor, run_id: RowId, scheme: str) -> PaymentListOut:
    plist = service.payment_list(db, actor, run_id, shipped_scheme(scheme))
    return PaymentListOut(
        run_id=plist.run.id, scheme_id=plist.scheme.id, scheme_sha256=plist.scheme.sha256,
        budget=plist.budget, total=plist.total, unallocated=plist.unallocated,
        eligible=plist.eligible,
        payments=[PaymentOut(uscc=p.row.uscc, name=p.row.name, points=p.row.points,
                             list_rank=p.row.list_rank, stage=p.row.stage, tier=p.row.tier,
                             rule=p.rule, amount=p.amount) for p in plist.rows],
    )
