"""Publishing runs, the lists they publish, payment lists and their XLSX files.

Services never commit; the caller's unit of work does. State changes (``do_*``) write
their audit row in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit import audit, events
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.xlsx import write_xlsx
from kechuang.lists import engine as div
from kechuang.lists import repository as repo
from kechuang.lists.schemes import LoadedScheme
from kechuang.models.base import utcnow
from kechuang.models.scoring import ScoringRun
from kechuang.robustness import service as robustness_service

#: list tiers in display order (ScoreResult.list_tier codes) and their names
TIER_ORDER = ("lead", "race", "advance")
TIER_NAMES = {"lead": ("领跑榜", "Leaders"), "race": ("竞跑榜", "Runners-up"),
              "advance": ("进取榜", "Climbers")}
STAGE_ORDER = ("初创", "成长", "稳定")


def tier_name(tier: str | None, locale: str = "zh") -> str:
    if tier is None:
        return ""
    pair = TIER_NAMES.get(tier)
    return tier if pair is None else pair[1 if locale == "en" else 0]


def lists_per_stage(run: ScoringRun) -> bool:
    """Were the run's lists cut per revenue stage (the default) or over the whole run?"""
    lists = (run.parameters or {}).get("lists") if isinstance(run.parameters, dict) else None
    return not (isinstance(lists, dict) and lists.get("per") == "all")


def run_tiers(run: ScoringRun) -> list[tuple[str, str]]:
    """The run's list tiers in order, (code, name), from its recorded parameters (a run may
    use its own cut-offs and names); the default three when it recorded none."""
    lists = (run.parameters or {}).get("lists") if isinstance(run.parameters, dict) else None
    tiers = lists.get("tiers") if isinstance(lists, dict) else None
    if not tiers:
        return [(code, TIER_NAMES[code][0]) for code in TIER_ORDER]
    return [(str(t["code"]), str(t.get("name") or tier_name(str(t["code"]))))
            for t in tiers if isinstance(t, dict) and "code" in t]


def _order(values: list[Any], known: tuple[str, ...]) -> list[Any]:
    return sorted(values, key=lambda v: (known.index(v) if v in known else len(known),
                                         "" if v is None else str(v)))


# --------------------------------------------------------------------------- publishing
def _require_admin(actor: Actor) -> None:
    if actor.role != "bureau_admin":
        raise Forbidden("只有科技局管理员可以发布或撤回榜单",
                        "Only a bureau administrator may publish or withdraw lists")


def _owned_run(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    run = repo.visible_run(session, actor, run_id)
    if not repo.run_owned(session, actor, run):
        raise Forbidden("该评分批次的范围超出您的辖区", "The run covers more than your region")
    return run


def do_publish_run(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    """Publish a run's lists: it becomes the current run of its (system, year, scope) and
    its lists appear on the public page. Re-publishing a superseded run makes it current
    again; publishing the current run again is refused unless a robustness analysis was
    made after its publication (publishing again brings that analysis to the public)."""
    _require_admin(actor)
    run = _owned_run(session, actor, run_id)
    if repo.scored_count(session, run.id) == 0:
        raise InvalidInput(f"评分批次 {run.id} 没有任何评分结果，不能发布",
                           f"Run {run.id} has no results to publish")
    if repo.is_current(session, run) and not (
            run.published_at is not None
            and robustness_service.analysed_after(session, run.id, run.published_at)):
        raise Conflict(f"评分批次 {run.id} 已是当前发布的榜单", f"Run {run.id} is already current")
    before = {"published": run.published,
              "published_at": run.published_at.isoformat() if run.published_at else None}
    superseded = [r.id for r in repo.current_runs(session, run.system_id)
                  if r.year == run.year and r.region_code == run.region_code]
    run.published = True
    run.published_at = utcnow()
    session.flush()
    audit.record(session, actor, "lists.publish", "scoring_run", run.id, before=before,
                 after={"published": True, "published_at": run.published_at.isoformat(),
                        "supersedes": superseded, "system_id": run.system_id,
                        "year": run.year},
                 region_code=run.region_code)
    # precise push and tier snapshots react to a published list (kechuang.push, .tiers)
    events.emit("scoring.run_published", session=session, actor=actor, run=run)
    return run


def do_withdraw_run(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    """Take a run's lists off the public page (e.g. published by mistake); the previous
    published run of the same key, if any, becomes current again."""
    _require_admin(actor)
    run = _owned_run(session, actor, run_id)
    if not run.published:
        raise Conflict(f"评分批次 {run.id} 尚未发布", f"Run {run.id} is not published")
    before = {"published": True,
              "published_at": run.published_at.isoformat() if run.published_at else None}
    run.published = False
    run.published_at = None
    session.flush()
    audit.record(session, actor, "lists.withdraw", "scoring_run", run.id, before=before,
                 after={"published": False}, region_code=run.region_code)
    return run


# --------------------------------------------------------------------------- list views
@dataclass
class Entry:
    row: repo.ListRow
    robustness: repo.Robustness | None

    @property
    def unstable(self) -> bool:
        return self.robustness is not None and not self.robustness[3]


@dataclass
class TierBlock:
    tier: str
    entries: list[Entry]


@dataclass
class StageBlock:
    stage: str | None
    tiers: list[TierBlock]

    @property
    def count(self) -> int:
        return sum(len(t.entries) for t in self.tiers)


@dataclass
class ListView:
    run: ScoringRun
    current: bool
    stages: list[StageBlock] = field(default_factory=list)
    has_robustness: bool = False
    vetoed: list[tuple[str, str, float | None, str | None]] = field(default_factory=list)
    tier_names: dict[str, str] = field(default_factory=dict)
    per_stage: bool = True

    def tier_label(self, tier: str, locale: str = "zh") -> str:
        if locale != "en" and tier in self.tier_names:
            return self.tier_names[tier]
        return tier_name(tier, locale)

    @property
    def listed(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def unstable(self) -> int:
        return sum(e.unstable for s in self.stages for t in s.tiers for e in t.entries)


def list_view(session: Session, actor: Actor, run: ScoringRun, *, public: bool) -> ListView:
    """The run's lists per revenue stage and tier, veto applied. ``public``: every listed
    enterprise of a published run (the caller checks ``run.published``); otherwise the
    bureau's preview limited to its enterprises, with the veto exclusions to check."""
    if public and not run.published:
        raise NotFound(f"评分批次 {run.id} 未发布", f"Run {run.id} is not published")
    per_stage = lists_per_stage(run)
    rows = repo.result_rows(session, run.id, None if public else actor, listed_only=True,
                            per_stage=per_stage)
    # the public page shows the analysis that was published with the list; a later one (by
    # staff) is visible inside the bureau and reaches the public with the next publication
    robust = repo.robustness_of(session, run.id, run.published_at if public else None)
    view = ListView(run=run, current=repo.is_current(session, run), has_robustness=bool(robust),
                    per_stage=per_stage)
    by_stage: dict[str | None, dict[str, list[Entry]]] = {}
    for r in rows:
        assert r.tier is not None and r.veto is None  # the query's filter; never list a veto
        by_stage.setdefault(r.stage if per_stage else None, {}).setdefault(r.tier, []).append(
            Entry(r, robust.get(r.enterprise_id)))
    order = tuple(code for code, _ in run_tiers(run))
    view.tier_names = dict(run_tiers(run))
    for stage in _order(list(by_stage), STAGE_ORDER):
        tiers = by_stage[stage]
        view.stages.append(StageBlock(stage, [TierBlock(t, tiers[t])
                                              for t in _order(list(tiers), order)]))
    if not public:
        view.vetoed = repo.vetoed_rows(session, run.id, actor)
    return view


def list_xlsx(view: ListView, *, include_uscc: bool) -> bytes:
    """The lists as one sheet (formula-injection safe through ``write_xlsx``)."""
    header: list[str] = ["发展阶段", "榜单", "名次", "企业名称"]
    if include_uscc:
        header.append("统一社会信用代码")
    header += ["行业", "所在地", "积分", "名次稳健性"]
    rows: list[list[Any]] = []
    for block in view.stages:
        for tb in block.tiers:
            for e in tb.entries:
                r = e.row
                line: list[Any] = [r.stage or "", view.tier_label(tb.tier), r.stage_rank,
                                   r.name]
                if include_uscc:
                    line.append(r.uscc)
                line += [r.industry_name or r.industry_code or "", r.region_name or "",
                         round(r.points, 4), "名次不稳健" if e.unstable else ""]
                rows.append(line)
    run = view.run
    about: list[list[Any]] = [
        ["指标体系", f"{run.system_name}（{run.system_id} {run.system_version}）"],
        ["年度", run.year], ["评分批次", run.id],
        ["发布时间", run.published_at.isoformat() if run.published_at else "未发布（预览）"],
        ["说明", "一票否决企业不列入榜单；名次为同一营收阶段内、剔除一票否决企业后的名次"],
    ]
    return write_xlsx([("积分榜", header, rows), ("说明", ["项目", "内容"], about)])


# --------------------------------------------------------------------------- dividends
@dataclass
class PaymentRow:
    row: repo.ListRow
    amount: Decimal
    rule: str


@dataclass
class PaymentList:
    run: ScoringRun
    scheme: LoadedScheme
    rows: list[PaymentRow]
    total: Decimal
    budget: Decimal | None
    unallocated: Decimal | None
    eligible: int


def payment_list(session: Session, actor: Actor, run_id: int,
                 scheme: LoadedScheme) -> PaymentList:
    """The payment list of ``scheme`` over a run: derived from the immutable run and the
    scheme file (its hash is on the list), so computing it again gives the same list.

    Computed over the whole run (a budget split depends on everyone), so the actor's scope
    must cover the whole run."""
    run = repo.visible_run(session, actor, run_id)
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以编制支付清单", "Only the bureau may compute payments")
    if not repo.run_owned(session, actor, run):
        raise Forbidden("该评分批次的范围超出您的辖区，无法编制支付清单",
                        "The run covers more than your region")
    rows = repo.result_rows(session, run.id, None, listed_only=False,
                            per_stage=lists_per_stage(run))
    by_id = {r.enterprise_id: r for r in rows}
    candidates = [div.Candidate(enterprise_id=r.enterprise_id, points=r.points,
                                list_rank=r.list_rank, stage_rank=r.stage_rank,
                                stage=r.stage, tier=r.tier, veto=r.veto) for r in rows]
    alloc = div.compute(scheme.scheme, candidates)
    out = [PaymentRow(by_id[p.enterprise_id], p.amount, p.rule) for p in alloc.payments]
    out.sort(key=lambda p: (-p.amount, -p.row.points, p.row.enterprise_id))
    return PaymentList(run=run, scheme=scheme, rows=out, total=alloc.total,
                       budget=alloc.budget, unallocated=alloc.unallocated,
                       eligible=alloc.eligible)


def payment_xlsx(plist: PaymentList) -> bytes:
    header = ["序号", "企业名称", "统一社会信用代码", "行业", "所在地", "发展阶段", "榜单",
              "积分", "名次（剔除否决后）", "奖励规则", "金额（元）"]
    rows: list[list[Any]] = []
    for i, p in enumerate(plist.rows, start=1):
        r = p.row
        rows.append([i, r.name, r.uscc, r.industry_name or r.industry_code or "",
                     r.region_name or "", r.stage or "", tier_name(r.tier), round(r.points, 4),
                     r.list_rank, p.rule, p.amount])
    rows.append(["合计", "", "", "", "", "", "", "", "", f"{len(plist.rows)} 家", plist.total])
    s = plist.scheme
    run = plist.run
    about: list[list[Any]] = [
        ["奖励方案", f"{s.scheme.name}（{s.id}）"], ["方案文件", s.source],
        ["方案文件 SHA-256", s.sha256],
        ["评分批次", f"{run.id}（{run.system_name} {run.system_version}，{run.year} 年）"],
        ["评分输入哈希", run.input_hash],
        ["预算（元）", plist.budget if plist.budget is not None else "不设预算"],
        ["合计（元）", plist.total],
        ["未分配（元）", plist.unallocated if plist.unallocated is not None else ""],
        ["舍入规则", "先向下取整到分，再按余数从大到小逐分补足（同额企业同等对待），"
                     "总额不超过预算"],
        ["说明", "一票否决企业不获奖励；清单由不可变的评分批次和方案文件计算，可重复核对"],
    ]
    return write_xlsx([("支付清单", header, rows), ("说明", ["项目", "内容"], about)])


def do_export_payments(session: Session, actor: Actor, plist: PaymentList) -> bytes:
    """The payment list as XLSX; money leaving the platform is audited (run, scheme hash,
    total), so the file handed to finance can be traced back."""
    body = payment_xlsx(plist)
    audit.record(session, actor, "lists.export_payments", "scoring_run", plist.run.id,
                 after={"scheme_id": plist.scheme.id, "scheme_sha256": plist.scheme.sha256,
                        "total": plist.total, "budget": plist.budget,
                        "enterprises": len(plist.rows)},
                 region_code=plist.run.region_code)
    return body


def find_run(session: Session, run_id: int) -> ScoringRun | None:
    """A scoring run by id, unscoped: the caller checks publication or visibility."""
    return repo.find_run(session, run_id)


def region_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Region code → name of the given codes."""
    return repo.region_names(session, codes)


def publishers(session: Session, region_code: str | None) -> list[tuple[str, str]]:
    """Who may publish a region's lists (shown to staff, who cannot)."""
    return repo.publishers(session, region_code)


def unpublished_analysis(session: Session, run: ScoringRun) -> bool:
    """A published run with a robustness analysis the public has not seen yet."""
    return bool(run.published and run.published_at is not None
                and robustness_service.analysed_after(session, run.id, run.published_at))
