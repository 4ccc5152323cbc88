"""Monitoring services: regional indicators (computed + uploaded), targets, progress and
year-over-year change, the dashboard, uploads; key tasks, department reports, flags and the
dispatch report. ``do_*`` actions write their audit row; services never commit."""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.facts import service as facts_service
from kechuang.kit import audit, rules
from kechuang.kit.csvfile import read_rows
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.models.monitoring import (
    IndicatorTarget,
    IndicatorValue,
    MonitoringTask,
    TaskMilestone,
    TaskReport,
)
from kechuang.monitoring import engine, parameters
from kechuang.monitoring import repository as repo
from kechuang.monitoring.schemas import (
    Dashboard,
    IndicatorCard,
    IndicatorRow,
    MilestoneOut,
    RegionValue,
    ReportIn,
    ReportOut,
    TaskIn,
    TaskOut,
    UploadSummary,
)

YEAR_SPAN = 5


def today() -> date:
    """Today in the installation's zone (Asia/Shanghai): deadlines are local dates."""
    return datetime.now(UTC).astimezone(ZoneInfo(get_settings().timezone)).date()


# --------------------------------------------------------------------------- regions
def _home_region(session: Session, actor: Actor, region_code: str | None) -> Any:
    """The region to show: ``region_code`` (in scope), else the actor's region."""
    code = region_code or actor.region_code
    if code is None:
        raise InvalidInput("请指定区域代码", "give a region code")
    reg = repo.region(session, code)
    if reg is None:
        raise NotFound(f"区域代码不存在：{code}", f"unknown region {code}")
    if actor.region_path != "/" and not reg.path.startswith(actor.region_path):
        raise Forbidden("该区域不在您的辖区内", "region outside your scope")
    return reg


# --------------------------------------------------------------------------- indicators
def indicator_table(session: Session, actor: Actor, region_code: str | None,
                    years: list[int]) -> pd.DataFrame:
    """Every indicator for the region and each of its towns and parks, for ``years``:
    region_code, indicator_id, year, value (NaN = none), source."""
    system = parameters.indicator_system()
    reg = _home_region(session, actor, region_code)
    targets_ = [reg] + repo.sub_regions(session, reg.code)
    target_codes = [r.code for r in targets_]
    metrics = sorted({str(i.compute.metric) for i in system.indicators
                      if i.compute is not None and i.compute.metric}
                     | {system.above_scale.metric})
    frame = enterprise_years(session, actor, reg.path, years, metrics)
    leaves = repo.leaf_paths(session, actor, reg.path)
    wanted = set(target_codes)
    pairs = [(leaf, code) for leaf, path in leaves.items()
             for code in path.strip("/").split("/") if code in wanted]
    membership = pd.DataFrame(pairs, columns=["leaf", "region_code"])
    computed = engine.compute_indicators(frame, system, membership)
    computed["source"] = "computed"
    # every (region, computed indicator, year) appears, also with no enterprise
    grid = pd.MultiIndex.from_product(
        [target_codes, [i.id for i in system.indicators if i.compute is not None], years],
        names=["region_code", "indicator_id", "year"]).to_frame(index=False)
    computed = grid.merge(computed, on=["region_code", "indicator_id", "year"], how="left")
    counts = {i.id for i in system.indicators if i.compute and i.compute.aggregate == "count"}
    is_count = computed["indicator_id"].isin(counts)
    computed.loc[is_count, "value"] = computed.loc[is_count, "value"].fillna(0.0)
    computed["source"] = "computed"
    uploaded = pd.DataFrame(
        [(v.region_code, v.indicator_id, v.year, float(v.value), "uploaded")
         for v in repo.uploaded_values(session, target_codes, years)],
        columns=["region_code", "indicator_id", "year", "value", "source"])
    return pd.concat([computed, uploaded], ignore_index=True)


def enterprise_years(session: Session, actor: Actor, region_path: str, years: list[int],
                     metrics: list[str]) -> pd.DataFrame:
    """One row per visible enterprise under ``region_path`` and year: the enterprise's
    region, section and derived columns (repository) and the yearly metrics (float64, NaN
    without a fact) read through :func:`kechuang.facts.service.read_facts`."""
    ents = repo.enterprise_attributes(session, actor, region_path)
    facts = facts_service.read_facts(session, actor, years, codes=metrics)
    keep = ["enterprise_id", "year", *[m for m in metrics if m in facts]]
    grid = ents.merge(pd.DataFrame({"year": years}), how="cross")
    out = grid.merge(facts[keep], on=["enterprise_id", "year"], how="left")
    for m in metrics:
        out[m] = (pd.to_numeric(out[m], errors="coerce").astype(np.float64) if m in out
                  else np.nan)
    return out


def indicator_rows(session: Session, actor: Actor, region_code: str | None,
                   years: list[int]) -> list[IndicatorRow]:
    t = indicator_table(session, actor, region_code, years)
    return [IndicatorRow(region_code=r.region_code, indicator_id=r.indicator_id,
                         year=int(r.year), value=None if r.value != r.value else float(r.value),
                         source=r.source) for r in t.itertuples(index=False)]


def default_years(span: int = YEAR_SPAN) -> list[int]:
    last = today().year - 1
    return list(range(last - span + 1, last + 1))


def dashboard(session: Session, actor: Actor, *, region_code: str | None = None,
              year: int | None = None, compare: str | None = None,
              locale: str = "zh") -> Dashboard:
    """The director's page: every indicator's value in ``year`` (default: last year), the
    year before, YoY change, target and progress; one indicator across towns and parks."""
    system = parameters.indicator_system()
    by_id = system.by_id()
    y = year or default_years()[-1]
    years = list(range(y - YEAR_SPAN + 1, y + 1))
    reg = _home_region(session, actor, region_code)
    table = indicator_table(session, actor, reg.code, years)
    tg = {(t.region_code, t.indicator_id, t.year): float(t.target)
          for t in repo.targets(session, [reg.code], [y])}

    def value(code: str, ind: str, yr: int) -> float | None:
        hit = table[(table["region_code"] == code) & (table["indicator_id"] == ind)
                     & (table["year"] == yr)]
        if hit.empty:
            return None
        v = float(hit["value"].iloc[-1])
        return None if math.isnan(v) else v

    cards = []
    for ind in system.indicators:
        v, prev = value(reg.code, ind.id, y), value(reg.code, ind.id, y - 1)
        target = tg.get((reg.code, ind.id, y))
        cards.append(IndicatorCard(
            indicator_id=ind.id, name=ind.label(locale), unit=ind.unit_label(locale),
            source="uploaded" if ind.upload else "computed", year=y, value=v, previous=prev,
            yoy_change=engine.yoy(v, prev), target=target,
            progress=engine.progress(v, target, ind.higher_is_better)))
    compare_id = compare if compare in by_id else system.indicators[0].id
    subs = repo.sub_regions(session, reg.code)
    regions = [RegionValue(region_code=r.code, name=r.name, level=r.level,
                           value=value(r.code, compare_id, y)) for r in subs]
    return Dashboard(region_code=reg.code, region_name=reg.name, year=y, years=years,
                     cards=cards, compare_indicator=compare_id, regions=regions)


def do_upload_bytes(session: Session, actor: Actor, data: bytes, filename: str, *,
                    kind: str = "values") -> UploadSummary:
    """:func:`do_upload` of an uploaded file (kept under its own name in a private temporary
    folder, so errors name it)."""
    name = Path(filename or "upload.csv").name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="kc-monitoring-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return do_upload(session, actor, path, kind=kind)


def _decimal(path: Path, number: int, column: str, text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise InvalidInput(f"文件 {path.name} 第 {number} 行 {column} 列：“{text}”不是数字",
                           f"{path.name} row {number} column {column}: {text!r} is not a number"
                           ) from None
    if not value.is_finite():
        raise InvalidInput(f"文件 {path.name} 第 {number} 行 {column} 列：“{text}”不是数字",
                           f"{path.name} row {number} column {column}: not a number")
    return value


def _year(path: Path, number: int, text: str) -> int:
    if not (len(text) == 4 and text.isdigit() and 2000 <= int(text) <= 2100):
        raise InvalidInput(f"文件 {path.name} 第 {number} 行 year 列：“{text}”不是年份",
                           f"{path.name} row {number} column year: {text!r} is not a year")
    return int(text)


def do_upload(session: Session, actor: Actor, path: Path, *, kind: str = "values"
              ) -> UploadSummary:
    """``kind='values'``: REGION_VALUES.csv ``region_code,indicator_id,year,value`` for the
    uploaded indicators (GDP, R&D intensity); ``kind='targets'``:
    ``region_code,indicator_id,year,target`` for any indicator. Every row is checked
    before anything is written; errors name the file, row and column. One audit row."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局账号可以上传指标", "only bureau accounts may upload")
    column = "value" if kind == "values" else "target"
    rows = read_rows(path, ("region_code", "indicator_id", "year", column), strip=True)
    by_id = parameters.indicator_system().by_id()
    paths = repo.known_regions(session, sorted({r["region_code"] for _, r in rows}))
    parsed = []
    seen: dict[tuple[str, str, int], int] = {}
    for number, r in rows:
        code, ind = r["region_code"], r["indicator_id"]
        if code not in paths:
            raise InvalidInput(f"文件 {path.name} 第 {number} 行 region_code 列："
                               f"区域代码“{code}”不存在",
                               f"{path.name} row {number} column region_code: unknown {code!r}")
        if actor.region_path != "/" and not paths[code].startswith(actor.region_path):
            raise Forbidden(f"文件 {path.name} 第 {number} 行 region_code 列："
                            f"区域 {code} 不在您的辖区内",
                            f"{path.name} row {number} column region_code: {code} outside scope")
        if ind not in by_id:
            raise InvalidInput(f"文件 {path.name} 第 {number} 行 indicator_id 列：未知指标“{ind}”",
                               f"{path.name} row {number} column indicator_id: unknown {ind!r}")
        if kind == "values" and not by_id[ind].upload:
            raise InvalidInput(
                f"文件 {path.name} 第 {number} 行 indicator_id 列："
                f"指标“{ind}”由企业数据计算，不能上传",
                f"{path.name} row {number} column indicator_id: {ind!r} is computed, not uploaded")
        year = _year(path, number, r["year"])
        value = _decimal(path, number, column, r[column])
        key = (code, ind, year)
        if key in seen:
            raise InvalidInput(f"文件 {path.name} 第 {number} 行：与第 {seen[key]} 行重复",
                               f"{path.name} row {number}: repeats row {seen[key]}")
        seen[key] = number
        parsed.append((code, ind, year, value))
    model = IndicatorValue if kind == "values" else IndicatorTarget
    inserted = 0
    for code, ind, year, value in parsed:
        inserted += repo.upsert_value(session, model, column, region_code=code,
                                      indicator_id=ind, year=year, value=value,
                                      user_id=actor.user_id,
                                      source=path.name if kind == "values" else None)
    audit.record(session, actor, f"monitoring.upload_{kind}", "file", path.name,
                 after={"rows": len(parsed), "inserted": inserted},
                 region_code=actor.region_code)
    return UploadSummary(rows=len(parsed), inserted=inserted, updated=len(parsed) - inserted)


def do_set_target(session: Session, actor: Actor, *, region_code: str, indicator_id: str,
                  year: int, target: Decimal) -> bool:
    if not actor.is_bureau:
        raise Forbidden("只有科技局账号可以设定目标", "only bureau accounts may set targets")
    reg = _home_region(session, actor, region_code)
    if indicator_id not in parameters.indicator_system().by_id():
        raise InvalidInput(f"未知指标：{indicator_id}", f"unknown indicator {indicator_id}")
    inserted = repo.upsert_value(session, IndicatorTarget, "target", region_code=reg.code,
                                 indicator_id=indicator_id, year=year, value=target,
                                 user_id=actor.user_id)
    audit.record(session, actor, "monitoring.set_target", "indicator_target",
                 f"{reg.code}:{indicator_id}:{year}", after={"target": str(target)},
                 region_code=reg.code)
    return inserted


# --------------------------------------------------------------------------- tasks
def _department_names(session: Session, locale: str = "zh") -> dict[str, str]:
    return {c: (en if locale == "en" else zh)
            for c, (zh, en) in repo.departments(session).items()}


def _task_region_path(session: Session, actor: Actor) -> str:
    return actor.region_path if actor.region_path != "/" else "/"


def tasks(session: Session, actor: Actor, *, department: str | None = None,
          year: int | None = None, detail: bool = False, on: date | None = None,
          locale: str = "zh") -> list[TaskOut]:
    """The key tasks in the actor's region (a department account: its own department's),
    each with its latest report and flags as of ``on`` (default: today, Asia/Shanghai)."""
    if actor.role == "department":
        department = actor.department_code
    elif not actor.is_bureau:
        raise Forbidden("无权查看重点任务", "not allowed")
    rows = repo.tasks_in(session, _task_region_path(session, actor), department=department,
                         year=year)
    ids = [t.id for t in rows]
    miles: dict[int, list[TaskMilestone]] = {}
    for m in repo.milestones(session, ids):
        miles.setdefault(m.task_id, []).append(m)
    reps: dict[int, list[TaskReport]] = {}
    for r in repo.reports(session, ids):
        reps.setdefault(r.task_id, []).append(r)
    day = on or today()
    rules = parameters.task_rules()
    names = _department_names(session, locale)
    tz = ZoneInfo(get_settings().timezone)
    out = []
    for t in rows:
        history = reps.get(t.id, [])
        latest = history[-1] if history else None
        late = sum(1 for m in miles.get(t.id, []) if m.done_on is None and m.due_on < day)
        flags = engine.task_flags(engine.TaskState(
            deadline=t.deadline, status=t.status,
            progress=latest.progress if latest else None,
            latest_status=latest.status if latest else None,
            last_report_on=latest.reported_at.astimezone(tz).date() if latest else None,
            milestones_late=late), day, rules)
        out.append(TaskOut(
            id=t.id, code=t.code, title=t.title, description=t.description,
            region_code=t.region_code, department_code=t.department_code,
            department=names.get(t.department_code, t.department_code), year=t.year,
            deadline=t.deadline, status=t.status,
            progress=latest.progress if latest else None,
            latest_status=latest.status if latest else None,
            last_report=latest.reported_at.astimezone(tz).strftime("%Y-%m-%d") if latest
            else None,
            overdue=flags.overdue, at_risk=flags.at_risk, reasons=list(flags.reasons),
            milestones=[MilestoneOut(id=m.id, title=m.title, due_on=m.due_on,
                                     done_on=m.done_on) for m in miles.get(t.id, [])]
            if detail else [],
            reports=[ReportOut(id=r.id, progress=r.progress, status=r.status, note=r.note,
                               actor=r.actor,
                               reported_at=r.reported_at.astimezone(tz).strftime(
                                   "%Y-%m-%d %H:%M"))
                     for r in reps.get(t.id, [])] if detail else []))
    return out


def task_detail(session: Session, actor: Actor, task_id: int, locale: str = "zh") -> TaskOut:
    t = repo.task(session, task_id)
    if t is None:
        raise NotFound("找不到该任务", "task not found")
    for item in tasks(session, actor, year=t.year, detail=True, locale=locale):
        if item.id == task_id:
            return item
    raise NotFound("找不到该任务", "task not found")


def do_create_task(session: Session, actor: Actor, data: TaskIn, *,
                   region_code: str | None = None) -> MonitoringTask:
    if not actor.is_bureau:
        raise Forbidden("只有科技局账号可以下达重点任务", "only bureau accounts may create tasks")
    reg = _home_region(session, actor, region_code)
    if data.department_code not in repo.departments(session):
        raise InvalidInput(f"部门代码不存在：{data.department_code}",
                           f"unknown department {data.department_code}")
    if repo.task_by_code(session, reg.code, data.code) is not None:
        raise Conflict(f"任务编号 {data.code} 已存在", f"task code {data.code} exists")
    t = repo.add(session, MonitoringTask(
        region_code=reg.code, code=data.code, title=data.title, description=data.description,
        department_code=data.department_code, year=data.year, deadline=data.deadline,
        created_by=actor.user_id))
    for title, due in data.milestones:
        repo.add(session, TaskMilestone(task_id=t.id, title=title, due_on=due))
    audit.record(session, actor, "monitoring.create_task", "monitoring_task", t.id,
                 after=data.model_dump(mode="json"), region_code=reg.code)
    return t


def do_report(session: Session, actor: Actor, task_id: int, data: ReportIn) -> TaskReport:
    """A status report by the owner department's own account (a bureau account may not file
    it for them, and another department's account is refused)."""
    t = repo.task(session, task_id)
    if t is None or (actor.region_path != "/" and not repo.known_regions(
            session, [t.region_code]).get(t.region_code, "").startswith(actor.region_path)):
        raise NotFound("找不到该任务", "task not found")
    if actor.role != "department":
        raise Forbidden("进展报告由责任部门的账号填报", "reports are filed by the owner department")
    if actor.department_code != t.department_code:
        raise Forbidden(
            f"任务 {t.code} 的责任部门是 {t.department_code}，"
            f"您的部门 {actor.department_code} 不能填报",
            f"task {t.code} belongs to department {t.department_code}, not "
            f"{actor.department_code}")
    if t.status != "open":
        raise Conflict("该任务已办结或撤销，不能再填报", "the task is closed")
    own = {m.id: m for m in repo.milestones(session, [t.id])}
    for mid in data.milestones_done:
        if mid not in own:
            raise InvalidInput(f"里程碑 {mid} 不属于该任务", f"milestone {mid} is not this task's")
    day = today()
    for mid in data.milestones_done:
        if own[mid].done_on is None:
            own[mid].done_on = day
    report = repo.add(session, TaskReport(
        task_id=t.id, department_code=t.department_code, progress=data.progress,
        status=data.status, note=data.note, reported_by=actor.user_id, actor=actor.username))
    if data.status == "done":
        t.status = "done"
        t.closed_at = datetime.now(UTC)
    audit.record(session, actor, "monitoring.report", "monitoring_task", t.id,
                 after=data.model_dump(mode="json"), region_code=t.region_code)
    return report


def dispatch_summary(items: list[TaskOut]) -> list[dict[str, Any]]:
    """Per department: tasks, done, overdue, at risk, average latest progress."""
    frame = pd.DataFrame([{"department": t.department, "code": t.department_code,
                           "done": t.status == "done", "overdue": t.overdue,
                           "at_risk": t.at_risk, "progress": t.progress} for t in items])
    if frame.empty:
        return []
    out = []
    for (code, name), sub in frame.groupby(["code", "department"], sort=True):
        prog = sub["progress"].dropna()
        out.append({"department_code": code, "department": name, "tasks": len(sub),
                    "done": int(sub["done"].sum()), "overdue": int(sub["overdue"].sum()),
                    "at_risk": int(sub["at_risk"].sum()),
                    "progress": float(np.mean(prog)) if len(prog) else None})
    return out


def department_choices(session: Session, locale: str = "zh") -> list[tuple[str, str]]:
    return sorted((c, n) for c, n in _department_names(session, locale).items() if c != "demo")


def do_record_export(session: Session, actor: Actor, *, fmt: str, department: str | None,
                     tasks: int) -> None:
    """The dispatch report leaves the platform: one audit row."""
    audit.record(session, actor, "monitoring.export_dispatch", "dispatch_report", fmt,
                 after={"department": department, "tasks": tasks},
                 region_code=actor.region_code)


def region_names(session: Session, codes: list[str]) -> dict[str, str]:
    return {c: r.name for c, r in repo.regions_by_code(session, codes).items()}


def region_actor(session: Session, region_code: str) -> Actor:
    """The command line's actor narrowed to one region (for region-scoped reports)."""
    reg = repo.region(session, region_code)
    if reg is None:
        raise NotFound(f"区域代码不存在：{region_code}", f"unknown region {region_code}")
    return Actor.command_line(reg.code, reg.path)


TASK_COLUMNS = ("code", "title", "department", "deadline")


def read_task_file(path: Path) -> list[TaskIn]:
    """TASKS.csv ``code,title,department,deadline[,description,milestones]``; milestones as
    ``title@YYYY-MM-DD;title@YYYY-MM-DD``. Errors name the file, row and column."""
    rows = read_rows(path, TASK_COLUMNS, ("description", "milestones"), strip=True)
    out = []
    for number, r in rows:
        where = f"文件 {path.name} 第 {number} 行"
        try:
            deadline = date.fromisoformat(r["deadline"])
        except ValueError:
            raise InvalidInput(f"{where} deadline 列：“{r['deadline']}”不是日期 YYYY-MM-DD",
                               f"{path.name} row {number} column deadline: not a date") from None
        ms = []
        for part in filter(None, (p.strip() for p in r.get("milestones", "").split(";"))):
            title, _, day = part.rpartition("@")
            try:
                ms.append((title.strip(), date.fromisoformat(day.strip())))
            except ValueError:
                raise InvalidInput(f"{where} milestones 列：“{part}”应为 名称@YYYY-MM-DD",
                                   f"{path.name} row {number} column milestones: {part!r}"
                                   ) from None
        try:
            out.append(TaskIn(code=r["code"], title=r["title"], department_code=r["department"],
                              description=r.get("description", ""), year=deadline.year,
                              deadline=deadline, milestones=ms))
        except ValueError as exc:
            raise InvalidInput(f"{where}：{exc}", f"{path.name} row {number}: {exc}") from None
    return out


CASES = {"indicators": parameters.RULES_DIR / "indicators.cases.yaml",
         "tasks": parameters.RULES_DIR / "tasks.cases.yaml"}


def run_cases() -> list[tuple[str, list[str]]]:
    """Every case of the indicator and task rule files: (name, problems)."""
    out: list[tuple[str, list[str]]] = []
    system = parameters.indicator_system()
    text, name = rules.read_text(CASES["indicators"])
    for case in rules.parse_yaml(text, name).get("cases", []):
        ents = case.get("enterprises") or []
        year = int(case["year"])
        frame = pd.DataFrame([{
            "enterprise_id": i, "region_code": str(e.get("region", "R")), "year": year,
            "section": str(e.get("section", "C")),
            "hte_expires_on": str(e["hte_expires_on"]) if e.get("hte_expires_on") else None,
            "tech_sme_year": float(e.get("tech_sme_year") or "nan"),
            "rd_institution_level": e.get("platform"),
            **{m: float(e[m]) if e.get(m) is not None else float("nan")
               for m in ("rd_expense", "main_business_revenue", "tech_contract_value")},
        } for i, e in enumerate(ents, start=1)])
        leaves = sorted(set(frame["region_code"])) if len(frame) else []
        membership = pd.DataFrame({"leaf": leaves, "region_code": "ALL"})
        got = engine.compute_indicators(frame, system, membership)
        problems = []
        for ind, want in (case.get("expect") or {}).items():
            hit = got[got["indicator_id"] == ind]["value"]
            v = float(hit.iloc[0]) if len(hit) else float("nan")
            ok = (want is None and math.isnan(v)) or (
                want is not None and not math.isnan(v) and math.isclose(v, float(want),
                                                                       rel_tol=1e-9))
            if not ok:
                problems.append(f"{ind}: 期望 expected {want!r}，实为 got {v!r}")
        out.append((str(case.get("name")), problems))
    text, name = rules.read_text(CASES["tasks"])
    trules = parameters.task_rules()
    for case in rules.parse_yaml(text, name).get("cases", []):
        flags = engine.task_flags(engine.TaskState(
            deadline=case["deadline"], status=case.get("status", "open"),
            progress=case.get("progress"), latest_status=case.get("latest_status"),
            last_report_on=case.get("last_report_on"),
            milestones_late=int(case.get("milestones_late", 0))), case["today"], trules)
        problems = []
        for key in ("overdue", "at_risk"):
            if key in case.get("expect", {}) and getattr(flags, key) != case["expect"][key]:
                problems.append(f"{key}: 期望 expected {case['expect'][key]}，实为 got "
                                f"{getattr(flags, key)}")
        out.append((str(case.get("name")), problems))
    return out
