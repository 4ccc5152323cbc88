"""Carbon-efficiency services: the file contract (``grade_file``), the parameter cases, and
(database path) the monthly evaluation over the enterprises' facts, its pages' read models
and the alerts sent to the enterprises' inboxes. Services never commit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.carbon import engine, files, parameters
from kechuang.carbon import repository as repo
from kechuang.carbon.engine import Edition
from kechuang.carbon.schemas import (
    EvaluationOut,
    GradeOut,
    GradePage,
    GroupRow,
    NotifyOut,
    OverviewOut,
    ShareRow,
)
from kechuang.facts import service as facts_service
from kechuang.kit import audit, rules
from kechuang.kit.errors import Forbidden, InvalidInput, NotFound
from kechuang.push import service as push_service
from kechuang.registry.reference import industry_index, normalise_industry_code

CASES_FILE = parameters.RULES_DIR / "efficiency.cases.yaml"


# --------------------------------------------------------------------------- file mode
@dataclass(frozen=True)
class FileSummary:
    rows: int
    enterprises: int
    periods: int
    graded: int
    alerts: int


def grade_frame(frame: pd.DataFrame, editions: list[Edition], *,
                published: dict[str, float] | None = None, min_cohort: int = 5
                ) -> pd.DataFrame:
    """The engine over a frame of :data:`engine.INPUT_COLUMNS` (class codes already checked)."""
    return engine.grade(frame, editions, section_of=files.section_map(
        frame["class_code"].to_numpy()), published=published, min_cohort=min_cohort)


def grade_file(data: Path, out: Path, *, bands: Path | None = None,
               benchmarks: Path | None = None, min_cohort: int | None = None) -> FileSummary:
    """``kechuang carbon grade``: read and check every input, grade, write GRADES.csv
    atomically (nothing is written when any input is bad)."""
    editions, default_cohort = parameters.editions_with(bands)
    published = files.read_benchmarks(benchmarks) if benchmarks is not None else None
    frame = files.read_monthly(data)
    cohort = min_cohort if min_cohort is not None else default_cohort
    result = grade_frame(frame, editions, published=published, min_cohort=cohort)
    files.write_grades(out, frame, result)
    return FileSummary(rows=len(frame), enterprises=int(frame["uscc"].nunique()),
                       periods=int(frame["period"].nunique()),
                       graded=int(result["grade"].notna().sum()),
                       alerts=int((result["alert"] != "").sum()))


# --------------------------------------------------------------------------- YAML cases

@dataclass
class CaseResult:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)


def _case_frame(case: dict[str, Any], name: str) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(case.get("rows") or [], start=1):
        code, problem = normalise_industry_code(str(r.get("industry_code", "")))
        if code is None or len(code) != 4 or not code.isdigit():
            raise InvalidInput(f"用例“{name}”第 {i} 行：{problem or '需要 4 位行业小类代码'}",
                               f"case {name!r} row {i}: bad industry_code")
        text = str(r["period"])
        y, m = text.split("-")
        rows.append({"uscc": str(r["uscc"]), "class_code": code,
                     "region_code": str(r.get("region_code", "")),
                     "period": int(y) * 100 + int(m),
                     "co2_t": _num(r.get("co2_t")),
                     "value_added_wan": _num(r.get("value_added_wan"))})
    return pd.DataFrame(rows)


def _num(v: Any) -> float:
    return math.nan if v is None or v == "" else float(v)


def _same(expected: Any, actual: Any) -> bool:
    missing = (actual is None or actual is pd.NA
               or (isinstance(actual, float) and math.isnan(actual)))
    if expected is None or expected == "":
        return missing or actual == ""
    if missing:
        return False
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-12)
    return str(actual) == str(expected)


def run_cases(path: Path = CASES_FILE) -> list[CaseResult]:
    """Every case of the cases file through the engine with the built-in parameters."""
    text, name = rules.read_text(path)
    data = rules.parse_yaml(text, name)
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise InvalidInput(f"{name}：需要 cases 列表", f"{name}: needs a list 'cases'")
    out: list[CaseResult] = []
    for case in data["cases"]:
        cname = str(case.get("name", "?"))
        frame = _case_frame(case, cname)
        published = None
        if case.get("benchmarks"):
            published = {}
            for k, v in case["benchmarks"].items():
                code, _ = normalise_industry_code(str(k))
                published[str(code)] = float(v)
        result = grade_frame(frame, parameters.builtin_editions(), published=published,
                             min_cohort=int(case.get("min_cohort",
                                                     parameters.default_min_cohort())))
        both = pd.concat([frame[["uscc", "period"]], result], axis=1)
        problems: list[str] = []
        for exp in case.get("expect") or []:
            y, m = str(exp["period"]).split("-")
            hit = both[(both["uscc"] == str(exp["uscc"]))
                       & (both["period"] == int(y) * 100 + int(m))]
            if hit.empty:
                problems.append(f"{exp['uscc']} {exp['period']}: 没有这一行 no such row")
                continue
            row = hit.iloc[0]
            for key, want in exp.items():
                if key in ("uscc", "period"):
                    continue
                got = row[key]
                if not _same(want, got):
                    problems.append(f"{exp['uscc']} {exp['period']} {key}: 期望 expected "
                                    f"{want!r}，实为 got {got!r}")
        out.append(CaseResult(cname, not problems, problems))
    return out


def industry_name(code: str) -> str:
    entry = industry_index().get(code)
    return entry[1] if entry else code


# --------------------------------------------------------------------------- database path
def period_text(p: int) -> str:
    return f"{p // 100:04d}-{p % 100:02d}"


def parse_period(text: str) -> int:
    y, sep, m = text.partition("-")
    if not (sep and len(y) == 4 and y.isdigit() and len(m) == 2 and m.isdigit()
            and 1 <= int(m) <= 12):
        raise InvalidInput(f"月份“{text}”不是 YYYY-MM 格式", f"period {text!r} is not YYYY-MM")
    return int(y) * 100 + int(m)


def _evaluation_out(ev: Any) -> EvaluationOut:
    return EvaluationOut(
        id=ev.id, region_code=ev.region_code or "",
        periods=[period_text(ev.first_period), period_text(ev.last_period)],
        enterprises=ev.enterprises, graded=ev.graded, alerts=ev.alerts,
        created_at=ev.created_at.isoformat())


def do_evaluate(session: Session, actor: Actor, *, region_code: str | None = None
                ) -> EvaluationOut:
    """Grade every month of the monthly facts (co2_t, value_added_month) of the enterprises
    in ``region_code``'s subtree (default: the actor's scope) with the built-in parameters,
    store the evaluation and its grade blocks (replacing the grades of the same scope's
    earlier evaluations), one audit row. Enterprises without a valid 4-digit industry class
    are left out (counted in the audit row)."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局账号可以运行碳效评价", "only bureau accounts may evaluate")
    path = None
    if region_code is not None:
        reg = repo.region(session, region_code)
        if reg is None:
            raise InvalidInput(f"区域代码不存在：{region_code}", f"unknown region {region_code}")
        if actor.region_path != "/" and not reg.path.startswith(actor.region_path):
            raise Forbidden("该区域不在您的辖区内", "region outside your scope")
        path = reg.path
    elif actor.region_path != "/":
        region_code = actor.region_code
    data = facts_service.read_monthly(session, actor, repo.MONTHLY_METRICS, path, names=False)
    index = industry_index()
    # one check per distinct code, not per enterprise-month
    codes = pd.Series(data["class_code"].unique()) if len(data) else pd.Series([], dtype=object)
    valid = {c for c in codes if isinstance(c, str) and len(c) == 4 and c.isdigit()
             and c in index}
    known = data["class_code"].isin(valid).to_numpy()
    skipped = int((~known).sum())
    data = data[known]
    if data.empty:
        raise InvalidInput("没有可评价的月度碳排放与增加值数据（co2_t、value_added_month）",
                           "no monthly CO2 / value-added facts to evaluate")
    data = data.reset_index(drop=True)
    cohort = parameters.default_min_cohort()
    result = grade_frame(data, parameters.builtin_editions(), min_cohort=cohort)
    graded = int(result["grade"].notna().sum())
    alerts = int((result["alert"] != "").sum())
    ev = repo.add_evaluation(
        session, region_code=region_code, first_period=int(data["period"].min()),
        last_period=int(data["period"].max()), enterprises=int(data["enterprise_id"].nunique()),
        rows=len(data), graded=graded, alerts=alerts,
        parameters={"rules": [r.id + "@" + r.valid_from.isoformat()
                              for r in parameters.builtin_rules()],
                    "min_cohort": cohort},
        created_by=actor.user_id, actor=actor.username)
    repo.delete_earlier_grades(session, region_code, ev.id)

    n = len(data)
    stored = result.copy()
    for name in ("enterprise_id", "period", "class_code", "region_code"):
        stored[name] = data[name].to_numpy()
    repo.insert_grades(session, ev.id, stored)
    audit.record(session, actor, "carbon.evaluate", "carbon_evaluation", ev.id,
                 after={"rows": n, "graded": graded, "alerts": alerts,
                        "skipped_no_class": skipped, "periods": [ev.first_period,
                                                                 ev.last_period]},
                 region_code=region_code)
    return _evaluation_out(ev)


def evaluations(session: Session, actor: Actor) -> list[EvaluationOut]:
    return [_evaluation_out(e) for e in repo.evaluations(session, actor)]


def _f(v: Any) -> float | None:
    return None if v is None or v != v else float(v)


def _i(v: Any) -> int | None:
    return None if v is None or v is pd.NA or v != v else int(v)


def _t(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _grade_rows(frame: pd.DataFrame) -> list[GradeOut]:
    return [GradeOut(
        uscc=r.uscc, enterprise_id=int(r.enterprise_id), name=r.name,
        industry_code=r.class_code, region_code=r.region_code, period=period_text(r.period),
        intensity=_f(r.intensity), carbon_level=_t(r.carbon_level), benchmark=_f(r.benchmark),
        benchmark_level=_t(r.benchmark_level), ratio=_f(r.ratio), grade=_i(r.grade),
        industry_rank=_i(r.industry_rank), industry_count=_i(r.industry_count),
        region_rank=_i(r.region_rank), region_count=_i(r.region_count),
        alert=_t(r.alert) or "") for r in frame.itertuples(index=False)]


def grades(session: Session, actor: Actor, *, period: str | None = None,
           alerts_only: bool = False, limit: int = 200, offset: int = 0) -> GradePage:
    """One month's grades in the actor's scope (default: the latest month), best first."""
    ev = repo.latest_evaluation(session, actor)
    if ev is None:
        return GradePage(period=None, periods=[], total=0, items=[])
    months = repo.periods(session, ev.id)
    p = parse_period(period) if period else months[-1]
    frame = repo.period_grades(session, actor, ev.id, p)
    if alerts_only:
        frame = frame[frame["alert"] != ""]
    return GradePage(period=period_text(p), periods=[period_text(m) for m in months],
                     total=len(frame), items=_grade_rows(frame.iloc[offset:offset + limit]))


def enterprise_grades(session: Session, actor: Actor, uscc: str) -> list[GradeOut]:
    """An enterprise's months, oldest first (its own account, or a bureau in scope)."""
    ent = repo.enterprise_by_uscc(session, actor, uscc)
    if ent is None:
        raise NotFound("找不到该企业", "enterprise not found")
    ev = repo.latest_evaluation(session, actor)
    if ev is None:
        return []
    return _grade_rows(repo.enterprise_grades(session, actor, ev.id, ent.id))


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    vc = frame["grade"].dropna().astype(int).value_counts()
    return {str(g): int(vc.get(g, 0)) for g in _grade_names()}


def _grade_names() -> list[int]:
    return [b.grade for b in parameters.builtin_rules()[-1].bands]


def overview(session: Session, actor: Actor, period: str | None = None) -> OverviewOut:
    """The bureau's view: the share of enterprises in each grade per month, and one month's
    grades by town (region_code) and by industry division, with its alert count."""
    ev = repo.latest_evaluation(session, actor)
    if ev is None:
        return OverviewOut(period=None, periods=[], shares=[], by_region=[], by_industry=[],
                           alerts=0)
    months = repo.periods(session, ev.id)
    p = parse_period(period) if period else months[-1]
    counts = repo.grade_counts(session, actor, ev.id)
    shares = []
    for m in months:
        sub = counts[counts["period"] == m]
        c = {str(g): int(sub.loc[sub["grade"] == g, "n"].sum()) for g in _grade_names()}
        shares.append(ShareRow(period=period_text(m), graded=sum(c.values()), counts=c))
    rows = repo.period_grades(session, actor, ev.id, p)
    graded = rows[rows["grade"].notna()]

    def groups(key: pd.Series, names: dict[str, str]) -> list[GroupRow]:
        out = []
        for code, sub in graded.groupby(key.loc[graded.index], sort=True):
            ratio = sub["ratio"].astype(float)
            out.append(GroupRow(code=str(code), name=names.get(str(code), str(code)),
                                graded=len(sub),
                                intensity=float(sub["intensity"].astype(float).median()),
                                counts=_counts(sub)) if len(ratio) else None)
        return [g for g in out if g is not None]

    region_names = repo.region_names(session, sorted(set(graded["region_code"])))
    division = rows["class_code"].astype(str).str[:2]
    div_names = {d: industry_name(d) for d in set(division)}
    return OverviewOut(period=period_text(p), periods=[period_text(m) for m in months],
                       shares=shares, by_region=groups(rows["region_code"], region_names),
                       by_industry=groups(division, div_names),
                       alerts=int((rows["alert"] != "").sum()))


ALERT_TEXT = {"grade_drop": ("碳效等级下降", "carbon grade dropped"),
              "intensity_up": ("碳排放强度上升超过阈值",
                               "carbon intensity rose beyond the threshold")}


def alert_text(alert: str, locale: str = "zh") -> str:
    parts = [a for a in alert.split(";") if a]
    i = 1 if locale == "en" else 0
    return ("; " if locale == "en" else "；").join(ALERT_TEXT.get(a, (a, a))[i] for a in parts)


def do_notify_alerts(session: Session, actor: Actor, *, period: str,
                     region_code: str | None = None) -> NotifyOut:
    """After the bureau has reviewed a month's alerts: one inbox message per alerted
    enterprise in scope, through :mod:`kechuang.push` (idempotent per enterprise and month;
    enterprises that muted ``carbon`` get none). One audit row."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局账号可以发送碳效预警", "only bureau accounts may notify")
    page = grades(session, actor, period=period, alerts_only=True, limit=10**9)
    items = [g for g in page.items if region_code is None or g.region_code == region_code
             or g.region_code.startswith(region_code)]
    p = parse_period(period)
    notices = pd.DataFrame({
        "enterprise_id": [g.enterprise_id for g in items],
        "title": [f"碳效预警（{period}）：{alert_text(g.alert)}" for g in items],
        "body": [(f"贵企业 {period} 碳效等级为 {g.grade} 级（行业内第 {g.industry_rank}/"
                  f"{g.industry_count} 位），碳排放强度 {g.intensity:.3f} 吨/万元；"
                  f"{alert_text(g.alert)}。请关注用能结构与节能降碳措施。") for g in items],
        "sms_text": [f"贵企业{period}碳效预警：{alert_text(g.alert)}" for g in items],
        "link": [f"/carbon/enterprise/{g.uscc}" for g in items],
    })
    summary = push_service.do_push_notices(session, actor, topic="carbon", kind="carbon_alert",
                                           period=p, source="carbon", notices=notices)
    notified = summary.inserted
    audit.record(session, actor, "carbon.notify", "carbon_period", period,
                 after={"alerts": len(items), "inserted": notified},
                 region_code=region_code or actor.region_code)
    return NotifyOut(period=period, notified=notified, already=len(items) - notified)


def enterprise_head(session: Session, actor: Actor, uscc: str) -> dict[str, str] | None:
    ent = repo.enterprise_by_uscc(session, actor, uscc)
    if ent is None:
        return None
    return {"uscc": ent.uscc, "name": ent.name, "industry_code": ent.industry_code or "",
            "industry": industry_name(ent.industry_code) if ent.industry_code else "",
            "region_code": ent.region_code}


def own_uscc(session: Session, actor: Actor) -> str:
    if actor.role != "enterprise" or actor.enterprise_id is None:
        raise Forbidden("只有企业账号可以查看本企业碳效", "enterprise accounts only")
    uscc = repo.uscc_of(session, actor.enterprise_id)
    if uscc is None:
        raise NotFound("找不到本企业", "enterprise not found")
    return uscc
