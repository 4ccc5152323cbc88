"""What the role homes show, read through the other packages' public service functions (no
SQL here; the counts of our own are in ``repository``)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.carbon import service as carbon_service
from kechuang.db import unit_of_work
from kechuang.facts import service as facts_service
from kechuang.jobs import service as jobs_service
from kechuang.monitoring import service as monitoring_service
from kechuang.policy import service as policy_service
from kechuang.profile import service as profile_service
from kechuang.push import service as push_service
from kechuang.scoring import service as scoring_service
from kechuang.tiers import service as tiers_service
from kechuang.tiers.schemas import rules as tier_rules
from kechuang.web.i18n import translate
from kechuang.web.nav import links_for
from kechuang.workbench import repository as repo

#: points per bar of the distribution chart (a display choice, not a rule)
BUCKET_WIDTH = 10
#: how many runs and jobs the workbench lists
RECENT = 5
#: newest messages on an enterprise's home
RECENT_MESSAGES = 3


@dataclass
class TierRow:
    tier_id: str
    label: str
    count: int
    change: int | None  # None: no snapshot of the year before


@dataclass
class Dashboard:
    counts: dict[str, int]
    tier_year: int | None = None
    tier_prev_year: int | None = None
    tiers: list[TierRow] = field(default_factory=list)
    run: Any = None
    chart: dict[str, Any] | None = None
    runs: list[Any] = field(default_factory=list)
    push: dict[str, int] = field(default_factory=dict)
    push_drafts: list[Any] = field(default_factory=list)
    push_draft_count: int = 0
    carbon_alerts: int | None = None
    carbon_period: str | None = None
    tasks_overdue: int = 0
    tasks_at_risk: int = 0
    tasks_total: int = 0
    jobs: list[Any] = field(default_factory=list)


def region(session: Session, actor: Actor) -> Any:
    return repo.region(session, actor.region_code) if actor.region_code else None


def _tiers(session: Session, actor: Actor, locale: str) -> tuple[int | None, int | None,
                                                               list[TierRow]]:
    overview = tiers_service.snapshot_overview(session, actor)
    if not overview:
        return None, None, []
    overview.sort(key=lambda o: o["year"])
    last = overview[-1]
    prev = next((o for o in overview if o["year"] == last["year"] - 1), None)
    rs = tier_rules()
    rows = []
    for tier in reversed(rs.tiers):  # the top tier first
        now = int(last["counts"].get(tier.id, 0))
        before = None if prev is None else int(prev["counts"].get(tier.id, 0))
        rows.append(TierRow(tier.id, tier.label_en if locale == "en" else tier.label, now,
                            None if before is None else now - before))
    return last["year"], prev["year"] if prev else None, rows


def points_chart(rows: list[Any], locale: str) -> dict[str, Any] | None:
    """An ECharts bar option: enterprises per ``BUCKET_WIDTH``-point band (all stages)."""
    per_bucket: dict[int, int] = defaultdict(int)
    for _stage, bucket, count in rows:
        per_bucket[int(bucket)] += int(count)
    if not per_bucket:
        return None
    lo, hi = min(per_bucket), max(per_bucket)
    labels = [f"{b * BUCKET_WIDTH}–{(b + 1) * BUCKET_WIDTH}" for b in range(lo, hi + 1)]
    return {
        "grid": {"left": 48, "right": 16, "top": 24, "bottom": 40},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": labels,
                  "name": translate("workbench.points", locale), "nameLocation": "middle",
                  "nameGap": 28},
        "yAxis": {"type": "value", "name": translate("workbench.enterprises", locale)},
        "series": [{"type": "bar", "data": [per_bucket.get(b, 0) for b in range(lo, hi + 1)],
                    "itemStyle": {"color": "#0b5cad"}}],
    }


def dashboard(session: Session, actor: Actor, locale: str) -> Dashboard:
    """The director's dashboard of a bureau account."""
    counts = {**repo.home_counts(session, actor), "facts": facts_service.current_count(session)}
    out = Dashboard(counts=counts)
    out.tier_year, out.tier_prev_year, out.tiers = _tiers(session, actor, locale)
    out.runs = scoring_service.runs_of(session, actor, limit=RECENT)
    out.run = scoring_service.latest_run(session, actor)
    if out.run is not None:
        out.chart = points_chart(scoring_service.histogram(session, actor, out.run.id,
                                                           BUCKET_WIDTH), locale)
    out.push = push_service.funnel_totals(push_service.funnel(session, actor))
    out.push_drafts = push_service.batches(session, actor, "draft", RECENT)
    out.push_draft_count = push_service.draft_count(session, actor)
    carbon = carbon_service.overview(session, actor)
    if carbon.period is not None:
        out.carbon_alerts, out.carbon_period = carbon.alerts, carbon.period
    tasks = monitoring_service.tasks(session, actor, locale=locale)
    out.tasks_total = len(tasks)
    out.tasks_overdue = sum(1 for t in tasks if t.overdue)
    out.tasks_at_risk = sum(1 for t in tasks if t.at_risk and not t.overdue)
    out.jobs = jobs_service.list_jobs(session, actor, limit=RECENT)
    return out


@dataclass
class NextStep:
    href: str
    label_key: str
    hint_key: str | None


#: verdicts an enterprise can act on: the policies it may apply for now
ACTIONABLE = ("eligible", "likely")


@dataclass
class EnterpriseHome:
    """What an enterprise manager sees first: its points and place, the policies it may
    apply for, and its newest messages."""

    uscc: str
    name: str
    run_year: int | None = None
    system_name: str | None = None
    points: float | None = None
    rank: int | None = None
    ranked: int | None = None
    percentile: float | None = None
    previous_points: float | None = None
    qualifies: list[Any] = field(default_factory=list)
    policies: int = 0
    unread: int = 0
    messages: list[Any] = field(default_factory=list)


def enterprise_home(session: Session, actor: Actor) -> EnterpriseHome | None:
    """The enterprise account's own summary (None for an account without an enterprise)."""
    if actor.role != "enterprise" or actor.enterprise_id is None:
        return None
    e = repo.enterprise(session, actor.enterprise_id)
    if e is None:
        return None
    out = EnterpriseHome(uscc=e.uscc, name=e.name)
    run, _, _ = profile_service.choose_run(session, actor, e, None)
    if run is not None:
        result = scoring_service.result_for(session, run.id, e.id)
        out.run_year, out.system_name = run.year, run.system_name
        if result is not None:
            out.points, out.rank, out.percentile = result.points, result.rank, result.percentile
            out.previous_points = result.prev_points
            out.ranked = run.enterprises - run.vetoed
    views = policy_service.enterprise_verdicts(session, actor, e.uscc)
    out.policies = len(views)
    out.qualifies = [v for v in views if v.verdict in ACTIONABLE]
    inbox = push_service.inbox(session, actor)
    out.unread = sum(1 for m in inbox if m.opened_at is None)
    out.messages = inbox[:RECENT_MESSAGES]
    return out


def next_steps(actor: Any) -> list[NextStep]:
    """What a role can do next: its navigation links, each with a one-line hint when the
    catalogue has one (``workbench.next.<href>``)."""
    out = []
    for link in links_for(actor):
        if link.href in ("/", "/account"):
            continue
        key = f"workbench.next.{link.href}"
        out.append(NextStep(link.href, link.label_key,
                            key if translate(key, "zh") != key else None))
    return out


#: engine id → (holds the demo, when asked); "yes" is kept, "no" is asked again after a while
_DEMO_SEEN: dict[int, tuple[bool, float]] = {}
DEMO_RECHECK_SECONDS = 30.0


def holds_demo(engine: Engine) -> bool:
    """Whether the database behind ``engine`` holds the demo (cached: asked on the login
    page, which anyone may load)."""
    seen = _DEMO_SEEN.get(id(engine))
    now = time.monotonic()
    if seen is not None and (seen[0] or now - seen[1] < DEMO_RECHECK_SECONDS):
        return seen[0]
    with unit_of_work(engine) as session:
        answer = repo.holds_demo(session)
    _DEMO_SEEN[id(engine)] = (answer, now)
    return answer
