"""Scoring runs in the platform (spec/scoring.md, "Scoring runs"; docs/scoring/runs.md).

``do_score_run`` scores every enterprise in the actor's scope for one year with one system
version and writes one immutable run: the ``scoring_run`` row (system id/version/file hash,
parameters, input hash), one ``score_result`` row per enterprise (bulk) and the trace
column-wise in ``score_column`` (bulk), one audit row, then emits
``scoring.run_completed``. It never commits: the request, the job or the command does, so
bad input or a crash leaves nothing behind.

``explain`` shows one enterprise's numbers in a run with the facts (and their import
batches) that were current when the run was made.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.facts import read_facts
from kechuang.facts import service as facts_service
from kechuang.kit import audit, events
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models import Enterprise
from kechuang.models.scoring import ScoreResult, ScoringRun
from kechuang.registry.catalogue import metrics_by_code
from kechuang.scoring import cluster as spark_run
from kechuang.scoring import engine
from kechuang.scoring import expressions as ex
from kechuang.scoring import repository as repo
from kechuang.scoring import runs as R
from kechuang.scoring.catalogue import load_system
from kechuang.scoring.system import System

Progress = Callable[[str, int, int], None]

STEPS = 6
#: DuckDB's memory budget for one run's engine (it spills to a temporary directory beyond)
DUCKDB_MEMORY_LIMIT = "1GB"


def _noop(_label: str, _done: int, _total: int) -> None:
    return None


# --------------------------------------------------------------------------- the run
def latest_data_year(session: Session, actor: Actor) -> int | None:
    """The latest year with any current yearly fact of an enterprise in scope."""
    return facts_service.latest_year(session, actor)


def _year_has_facts(session: Session, actor: Actor, year: int) -> bool:
    return facts_service.year_has_facts(session, actor, year)


def _parameters(year: int, overrides: dict[str, Any] | None) -> dict[str, Any]:
    params = R.default_parameters()
    overrides = dict(overrides or {})
    if "lists" in overrides:
        params["lists"] = overrides.pop("lists")
    if "stage" in overrides:
        params["stage"] = overrides.pop("stage")
    if overrides:
        raise InvalidInput(f"未知的运行参数：{'、'.join(sorted(overrides))}（可选：lists、stage）",
                           f"unknown run parameters: {', '.join(sorted(overrides))}")
    params["lists"] = R.validate_lists(params["lists"])
    bands = params["stage"].get("bands")
    if not bands or not all(isinstance(b, dict) and "code" in b for b in bands):
        raise InvalidInput("发展阶段分段参数 stage.bands 应为若干 {code, from, below} 项",
                           "stage.bands must be a list of {code, from, below}")
    params["year"] = year
    params["years"] = list(range(year - R.YEARS_BACK, year + 1))
    return params


def input_codes(system: System, params: dict[str, Any]) -> list[str]:
    """The catalogue metrics a run reads: the system's inputs and the stage metric."""
    return sorted(system.inputs() | {str(params["stage"].get("metric", "revenue"))})


def prepare_run(session: Session, actor: Actor, system_id: str, year: int | None,
                version: str | None, parameters: dict[str, Any] | None
                ) -> tuple[System, int, dict[str, Any]]:
    """The checks and parameters every run starts with, whatever the engine: the system
    version, the year (default: latest with data) and the run parameters."""
    system = load_system(system_id, version)
    if repo.count_visible_enterprises(session, actor) == 0:
        raise InvalidInput("您的管辖范围内没有任何企业，无法评分",
                           "no enterprise in your scope")
    if year is None:
        year = latest_data_year(session, actor)
        if year is None:
            raise InvalidInput("您的管辖范围内还没有任何年度数据，无法评分（请先导入数据）",
                               "no yearly facts in scope")
    year = int(year)
    if not 1900 <= year <= 2999:
        raise InvalidInput(f"评分年度应为四位年份，实为 {year}", f"bad year {year}")
    if not _year_has_facts(session, actor, year):
        latest = latest_data_year(session, actor)
        hint = f"（最新有数据的年度为 {latest} 年）" if latest else ""
        raise InvalidInput(f"您的管辖范围内 {year} 年没有任何数据，无法评分{hint}",
                           f"no facts for {year} in scope")
    return system, year, _parameters(year, parameters)


def do_score_run(session: Session, actor: Actor, system_id: str, year: int | None = None, *,
                 version: str | None = None, progress: Progress | None = None,
                 parameters: dict[str, Any] | None = None,
                 job_id: int | None = None, cluster: Any = None,
                 lake: Path | None = None) -> ScoringRun:
    """Score the actor's enterprises for ``year`` (default: latest year with data) with a
    system version; write the run, its results and trace; audit; emit the event.

    ``cluster`` (a :class:`kechuang.spark.cluster.Cluster`) runs the engine on Spark over
    the Parquet export in ``lake`` (which must hold the current facts: see
    :mod:`kechuang.scoring.cluster`); the run written is the same as in process."""
    step = progress or _noop
    started = datetime.now(UTC)
    step("加载指标体系 loading the system", 0, STEPS)
    system, year, params = prepare_run(session, actor, system_id, year, version, parameters)
    step("读取数据 reading facts", 1, STEPS)
    if cluster is None:
        out = _in_process(session, actor, system, params, year, step)
    else:
        if lake is None:
            raise InvalidInput("在 Spark 集群上评分需要导出目录 lake", "a cluster run needs a lake")
        out = spark_run.engine_output(session, actor, system, params, year, cluster, lake,
                                      input_codes(system, params), step)
    return write_run(session, actor, system, params, year, out, started=started,
                     job_id=job_id, step=step)


def _in_process(session: Session, actor: Actor, system: System, params: dict[str, Any],
                year: int, step: Progress) -> R.EngineOutput:
    """The run's engine in process: facts from the database, DuckDB."""
    data = read_facts(session, actor, params["years"], codes=input_codes(system, params))
    data = R.derive_cohorts(session, data, year, params["stage"], inplace=True)
    frame = R.engine_frame(data, system)
    this = data["year"].to_numpy() == year
    ids = data["enterprise_id"].to_numpy(dtype=np.int64)[this]
    cur = {c: data[c].to_numpy(dtype=object)[this]
           for c in ("stage", "industry_section", "region_code")}
    digest = R.input_hash(system.sha256, params, frame)
    # the engine joins on the unit id: integer ids are cheaper than 18-character codes
    frame[system.spec.unit.id] = data["enterprise_id"].to_numpy(dtype=np.int64)
    del data

    step("计算 computing", 2, STEPS)
    holder = [frame]
    del frame
    wide, notes, treatment = _compute(system, holder, year)
    got = wide[system.spec.unit.id].to_numpy(dtype=np.int64)
    order = np.argsort(got, kind="stable")
    if len(got) != len(ids) or not (got[order] == ids).all():
        raise RuntimeError("engine output does not match the enterprises read")
    wide = wide.iloc[order].reset_index(drop=True)

    def columns(names: list[str]) -> dict[str, np.ndarray]:
        return {n: wide[n].to_numpy() for n in names}

    return R.EngineOutput(ids=ids, stage=cur["stage"], section=cur["industry_section"],
                          region=cur["region_code"], input_hash=digest, notes=notes,
                          treatment=treatment, columns=columns, engine={"engine": "duckdb"})


def write_run(session: Session, actor: Actor, system: System, params: dict[str, Any],
              year: int, out: R.EngineOutput, *, started: datetime, job_id: int | None,
              step: Progress) -> ScoringRun:
    """Write one run from an engine's output, whatever the engine: places, the run row, the
    previous run's points, the results (bulk), the trace (a few columns at a time), the
    audit row (which names the engine) and the ``scoring.run_completed`` event."""
    step("排名 ranking", 3, STEPS)
    ids = out.ids
    root = _root(system)
    points = out.columns([f"score__{root}"])[f"score__{root}"].astype(np.float64)
    veto_codes = _veto_text(system, out.columns([f"veto__{v.code}" for v in system.spec.veto]),
                            len(ids))
    vetoed = veto_codes != ""
    stage, section, region = out.stage, out.section, out.region
    pl = R.places(points, vetoed, section, region, stage, params["lists"])

    run = ScoringRun(
        system_id=system.id, system_version=system.version, system_name=system.spec.name,
        system_hash=system.sha256, system_source=_source(system), year=year,
        parameters=params, input_hash=out.input_hash, region_code=actor.region_code,
        enterprises=len(ids), vetoed=int(vetoed.sum()),
        indicators=list(system.indicators), groups=list(system.groups),
        notes=out.notes, treatment=_jsonable(out.treatment), published=False, job_id=job_id,
        created_by=actor.user_id, actor=actor.username, created_at=started,
    )
    repo.add_run(session, run)
    prev = repo.previous_run(session, run)
    prev_points = np.full(len(ids), np.nan)
    prev_rank = np.full(len(ids), np.nan)
    if prev is not None:
        old = repo.result_points(session, prev.id).set_index("enterprise_id")
        prev_points = old["points"].reindex(ids).to_numpy(dtype=np.float64)
        prev_rank = old["rank"].reindex(ids).to_numpy(dtype=np.float64)
        run.parameters = {**params, "previous_run_id": prev.id}

    step("写入结果 writing results", 4, STEPS)
    results = pd.DataFrame({
        "enterprise_id": ids, "points": points, "rank": pl.rank, "list_rank": pl.list_rank,
        "percentile": pl.percentile, "rank_industry": pl.rank_industry,
        "rank_region": pl.rank_region, "rank_cohort": pl.rank_cohort,
        "industry_section": section, "region_code": region, "stage": stage,
        "list_tier": pl.list_tier,
        "veto": pd.Series(veto_codes, dtype=object).where(vetoed, None).to_numpy(),
        "prev_points": prev_points, "prev_rank": prev_rank,
        "groups": _groups_json(system, out.columns([f"score__{g}" for g in system.groups]),
                               len(ids)),
    })
    repo.insert_results(session, run.id, results)
    del results

    step("写入明细 writing the trace", 5, STEPS)
    for arrays in _trace_arrays(system, out, ids):
        repo.insert_columns(session, run.id, arrays)
    audit.record(session, actor, "scoring.run", "scoring_run", run.id,
                 after={"system_id": run.system_id, "system_version": run.system_version,
                        "system_hash": run.system_hash, "year": year,
                        "enterprises": run.enterprises, "vetoed": run.vetoed,
                        "input_hash": out.input_hash, **out.engine},
                 region_code=actor.region_code)
    events.emit("scoring.run_completed", session=session, actor=actor, run=run)
    step("完成 done", STEPS, STEPS)
    return run


def _compute(system: System, holder: list[pd.DataFrame], year: int
             ) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """Run the engine on in-process DuckDB. The input frame is handed over in ``holder``
    and dropped once DuckDB holds its copy (peak memory at national scale)."""
    con = ibis.duckdb.connect()
    spill = tempfile.mkdtemp(prefix="kechuang-duckdb-")
    # the engine keeps every materialised stage until the end: bound DuckDB's memory so that
    # a national-scale run spills stages to disk instead of holding them all in RAM
    con.raw_sql(f"SET temp_directory = '{spill}'")
    con.raw_sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    try:
        table = con.create_table("run_input", holder.pop())
        result = engine.compute(system, table, year=year, con=con)
        assert result.wide is not None
        wide = result.wide.select(*R.wide_columns(system)).to_pyarrow().to_pandas()
        return wide, list(result.notes), dict(result.treatment)
    finally:
        con.disconnect()
        shutil.rmtree(spill, ignore_errors=True)


def _root(system: System) -> str:
    roots = [c for c in system.order
             if (system.indicators.get(c) or system.groups[c]).parent is None]
    return roots[0]


def _veto_text(system: System, cols: dict[str, np.ndarray], n: int) -> np.ndarray:
    out = pd.Series("", index=range(n), dtype=object)
    for v in system.spec.veto:
        hit = pd.Series(cols[f"veto__{v.code}"], dtype=object).fillna(False).to_numpy(dtype=bool)
        out = out.where(~hit, np.where(out == "", v.code, out + ";" + v.code))
    return out.to_numpy(dtype=object)


def _groups_json(system: System, cols: dict[str, np.ndarray], n: int) -> np.ndarray:
    """``{"code": score, …}`` per enterprise, built column-wise (null for missing)."""
    text = pd.Series("{", index=range(n), dtype=object)
    for i, g in enumerate(system.groups):
        vals = np.asarray(cols[f"score__{g}"], dtype=np.float64)
        s = pd.Series(np.where(np.isnan(vals), "null", vals.astype(str)), index=text.index)
        text = text + ("" if i == 0 else ", ") + json.dumps(g) + ": " + s
    return (text + "}").to_numpy(dtype=object)


def _trace_arrays(system: System, out: R.EngineOutput, ids: np.ndarray
                  ) -> Iterator[dict[str, np.ndarray]]:
    """The trace columns, an indicator (or the group scores and ranks) at a time."""
    yield {"enterprise_id": ids.astype(np.int64)}
    for code in system.indicators:
        got = out.columns([f"{p}__{code}" for p in ("raw", "imp", "trt", "nrm", "w")])
        f = {p: np.asarray(got[f"{p}__{code}"], dtype=np.float64)
             for p in ("raw", "imp", "trt", "nrm", "w")}
        yield {f"raw:{code}": f["raw"], f"imputed:{code}": f["imp"],
               f"treated:{code}": f["trt"], f"normalised:{code}": f["nrm"],
               f"weight:{code}": f["w"], f"contribution:{code}": f["nrm"] * f["w"]}
    for g in system.groups:
        got = out.columns([f"score__{g}", f"{g}_rank"])
        yield {f"score:{g}": np.asarray(got[f"score__{g}"], dtype=np.float64),
               f"rank:{g}": np.asarray(got[f"{g}_rank"], dtype=np.float64)}


def _source(system: System) -> str:
    return f"kechuang/scoring/systems/{system.filename}"[:255]


def _jsonable(value: Any) -> Any:
    def default(v: Any) -> Any:
        if isinstance(v, np.generic):
            return v.item()
        return str(v)

    text = json.dumps(value, default=default, allow_nan=True)
    return json.loads(text.replace("NaN", "null"))


# --------------------------------------------------------------------------- explanation
@dataclass
class FactUsed:
    metric: str
    metric_name: str
    year: int
    value: str | None
    department: str | None
    department_name: str | None
    batch_id: int
    filename: str
    imported_at: datetime | None


@dataclass
class IndicatorExplanation:
    code: str
    name: str
    path: list[str]
    formula: str
    direction: int
    source: str | None
    raw: float | None
    imputed: float | None
    treated: float | None
    normalised: float | None
    weight: float | None
    contribution: float | None
    facts: list[FactUsed] = field(default_factory=list)


@dataclass
class GroupScore:
    code: str
    name: str
    score: float | None
    rank: int | None


@dataclass
class Explanation:
    run_id: int
    system_id: str
    system_version: str
    system_name: str
    year: int
    run_at: datetime | None
    enterprise_id: int
    uscc: str
    name: str
    points: float | None
    rank: int | None
    list_rank: int | None
    percentile: float | None
    rank_industry: int | None
    rank_region: int | None
    rank_cohort: int | None
    industry_section: str | None
    region_code: str | None
    stage: str | None
    list_tier: str | None
    list_tier_name: str | None
    veto: list[dict[str, str]]
    prev_points: float | None
    prev_rank: int | None
    groups: list[GroupScore]
    indicators: list[IndicatorExplanation]

    @property
    def change(self) -> float | None:
        if self.points is None or self.prev_points is None:
            return None
        return self.points - self.prev_points

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["change"] = self.change
        d["run_at"] = self.run_at.isoformat() if self.run_at else None
        for ind in d["indicators"]:
            for f in ind["facts"]:
                f["imported_at"] = f["imported_at"].isoformat() if f["imported_at"] else None
        return d


def _f(v: float | None) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if np.isnan(f) else f


def _i(v: Any) -> int | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)


def find_enterprise(session: Session, actor: Actor, uscc: str) -> Enterprise:
    ent = repo.find_enterprise(session, actor, uscc)
    if ent is None:
        raise NotFound(f"企业 {uscc} 不存在或不在您的管辖范围内", f"enterprise {uscc} not found")
    return ent


def _path(system: System, code: str) -> list[str]:
    names: list[str] = []
    node = system.indicators[code].parent
    while node is not None:
        g = system.groups[node]
        names.append(g.name)
        node = g.parent
    return list(reversed(names))


def explain(session: Session, actor: Actor, run_id: int, uscc: str) -> Explanation:
    """One enterprise in one run: places, group scores and, per indicator, raw → imputed →
    treated → normalised → weight → contribution with the facts behind it."""
    run = repo.get_run(session, actor, run_id)
    ent = find_enterprise(session, actor, uscc)
    res = repo.result_of(session, run.id, ent.id)
    if res is None:
        raise NotFound(f"企业 {uscc} 不在评分运行 {run_id} 中",
                       f"enterprise {uscc} is not in run {run_id}")
    pos = repo.position_of(session, run.id, ent.id)
    assert pos is not None
    values = repo.run_values_at(session, run.id, pos)
    try:
        system: System | None = load_system(run.system_id, run.system_version)
    except Exception:  # the file is gone: explain from what the run stored
        system = None
    if system is not None and system.sha256 != run.system_hash:
        system = None
    reads: dict[str, dict[str, set[int]]] = {}
    if system is not None:
        for code, spec in system.indicators.items():
            r = R.formula_reads(spec.formula)
            if spec.impute.method == "latest":
                r = {k: set(range(R.YEARS_BACK + 1)) for k in r}
            reads[code] = r
    facts = _facts_at(session, ent.id, run, reads)
    lists = (run.parameters or {}).get("lists") or {}
    indicators = []
    for code in run.indicators:
        ind: Any = system.indicators.get(code) if system else None
        used = []
        for metric, offsets in sorted(reads.get(code, {}).items()):
            for off in sorted(offsets):
                fact = facts.get((metric, run.year - off))
                if fact is not None:
                    used.append(fact)
        indicators.append(IndicatorExplanation(
            code=code, name=ind.name if ind else code,
            path=_path(system, code) if system else [],
            formula=ex.to_text(ind.formula) if ind else "",
            direction=ind.direction if ind else 1,
            source=ind.spec.source if ind else None,
            raw=_f(values.get(f"raw:{code}")), imputed=_f(values.get(f"imputed:{code}")),
            treated=_f(values.get(f"treated:{code}")),
            normalised=_f(values.get(f"normalised:{code}")),
            weight=_f(values.get(f"weight:{code}")),
            contribution=_f(values.get(f"contribution:{code}")), facts=used))
    groups = [GroupScore(g, system.groups[g].name if system else g,
                         _f(values.get(f"score:{g}")), _i(_f(values.get(f"rank:{g}"))))
              for g in run.groups]
    veto_names = {v.code: (v.name or v.code) for v in system.spec.veto} if system else {}
    veto = [{"code": c, "name": veto_names.get(c, c)} for c in (res.veto or "").split(";") if c]
    return Explanation(
        run_id=run.id, system_id=run.system_id, system_version=run.system_version,
        system_name=run.system_name, year=run.year, run_at=run.created_at,
        enterprise_id=ent.id, uscc=ent.uscc, name=ent.name, points=_f(res.points),
        rank=res.rank, list_rank=res.list_rank, percentile=_f(res.percentile),
        rank_industry=res.rank_industry, rank_region=res.rank_region,
        rank_cohort=res.rank_cohort, industry_section=res.industry_section,
        region_code=res.region_code, stage=res.stage, list_tier=res.list_tier,
        list_tier_name=R.tier_names(lists).get(res.list_tier or "") if res.list_tier else None,
        veto=veto, prev_points=_f(res.prev_points), prev_rank=res.prev_rank,
        groups=groups, indicators=indicators)


def _facts_at(session: Session, enterprise_id: int, run: ScoringRun,
              reads: dict[str, dict[str, set[int]]]) -> dict[tuple[str, int], FactUsed]:
    """The facts of one enterprise that were current when the run was made: imported
    before it, not rolled back before it, not superseded before it (latest batch wins)."""
    metrics = sorted({m for r in reads.values() for m in r})
    if not metrics:
        return {}
    years = sorted({run.year - o for r in reads.values() for offs in r.values() for o in offs})
    catalogue = metrics_by_code()
    out: dict[tuple[str, int], FactUsed] = {}
    for code, period, num, txt, bid, fname, dept, dept_name, created in facts_service.as_of(
            session, enterprise_id, metrics, years, run.created_at):
        value: str | None = _plain(num) if num is not None else txt
        m = catalogue.get(code)
        out[(code, int(period))] = FactUsed(
            metric=code, metric_name=m.name_zh if m else code, year=int(period), value=value,
            department=dept, department_name=dept_name, batch_id=int(bid), filename=fname,
            imported_at=created)
    return out


def _plain(v: Decimal) -> str:
    d = v.normalize() if isinstance(v, Decimal) else Decimal(str(v))
    text = format(d, "f")
    return text


# --------------------------------------------------------------------------- pages
@dataclass
class RankingPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def ranking(session: Session, actor: Actor, run_id: int, *, industry: str | None = None,
            region: str | None = None, stage: str | None = None, tier: str | None = None,
            page: int = 1, size: int = 50) -> RankingPage:
    """One page of a run's ranking over the enterprises the actor may see."""
    run = repo.get_run(session, actor, run_id)
    total, page, pages, rows = repo.ranking_page(
        session, actor, run.id, {"industry_section": industry, "region_code": region,
                                 "stage": stage, "list_tier": tier}, page, size)
    names = R.tier_names((run.parameters or {}).get("lists") or {})
    region_names = repo.region_names(session, sorted({r[0].region_code for r in rows
                                                      if r[0].region_code}))
    out = []
    for res, code, name in rows:
        change = (None if res.points is None or res.prev_points is None
                  else res.points - res.prev_points)
        out.append({"uscc": code, "name": name, "points": res.points, "rank": res.rank,
                    "list_rank": res.list_rank, "percentile": res.percentile,
                    "rank_industry": res.rank_industry, "rank_region": res.rank_region,
                    "rank_cohort": res.rank_cohort, "industry_section": res.industry_section,
                    "region_code": res.region_code,
                    "region_name": region_names.get(res.region_code or "", res.region_code),
                    "stage": res.stage, "list_tier": res.list_tier,
                    "list_tier_name": names.get(res.list_tier or "") if res.list_tier else None,
                    "veto": res.veto, "prev_points": res.prev_points,
                    "prev_rank": res.prev_rank, "change": change,
                    "rank_change": (None if res.rank is None or res.prev_rank is None
                                    else res.prev_rank - res.rank),
                    "groups": res.groups})
    return RankingPage(out, int(total), page, pages)


def run_filters(session: Session, actor: Actor, run_id: int) -> dict[str, list[Any]]:
    """The values present in a run (for the filter selects)."""
    run = repo.get_run(session, actor, run_id)
    regions = repo.distinct_values(session, run.id, "region_code")
    names = repo.region_names(session, regions)
    return {"industry": repo.distinct_values(session, run.id, "industry_section"),
            "region": [(c, names.get(c, c)) for c in regions],
            "stage": repo.distinct_values(session, run.id, "stage"),
            "tier": [(t["code"], t.get("name", t["code"]))
                     for t in ((run.parameters or {}).get("lists") or {}).get("tiers", [])]}


def histogram(session: Session, actor: Actor, run_id: int, width: float) -> list[Any]:
    """(stage, bucket, count) of a run's points per ``width``-point bucket, over the
    enterprises ``actor`` sees (bucket = floor(points / width))."""
    return repo.histogram_rows(session, actor, run_id, width)


def run_dict(run: ScoringRun) -> dict[str, Any]:
    return {"id": run.id, "system_id": run.system_id, "system_version": run.system_version,
            "system_name": run.system_name, "system_hash": run.system_hash, "year": run.year,
            "parameters": run.parameters, "input_hash": run.input_hash,
            "region_code": run.region_code, "enterprises": run.enterprises,
            "vetoed": run.vetoed, "indicators": run.indicators, "groups": run.groups,
            "notes": run.notes, "published": run.published, "job_id": run.job_id,
            "actor": run.actor,
            "created_at": run.created_at.isoformat() if run.created_at else None}



# ---------------------------------------------------------- reads for the other packages
def get_run(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    """A scoring run ``actor`` may see (NotFound otherwise)."""
    return repo.get_run(session, actor, run_id)


def runs_of(session: Session, actor: Actor, system_id: str | None = None,
            limit: int | None = None) -> list[ScoringRun]:
    """Runs ``actor`` may see (of one system id, or all), newest first."""
    runs = repo.runs_of(session, actor, system_id)
    return runs if limit is None else runs[:limit]


def latest_run(session: Session, actor: Actor, system_id: str | None = None,
               year: int | None = None, published_only: bool = False) -> ScoringRun | None:
    """The newest run covering ``actor``'s scope (optionally of one system / year /
    published only)."""
    return repo.latest_run(session, actor, system_id, year, published_only)


def result_for(session: Session, run_id: int, enterprise_id: int) -> ScoreResult | None:
    """One enterprise's result in a run (its points, ranks and list tier)."""
    return repo.result_of(session, run_id, enterprise_id)


def run_columns(session: Session, run_id: int, names: list[str]) -> dict[str, np.ndarray]:
    """Trace columns of a run (``enterprise_id``, ``imputed:<code>``, …), in run order."""
    return repo.run_columns(session, run_id, names)


def points_between(session: Session, run_id: int, lo: int, hi: int) -> list[Any]:
    """(enterprise id, points, rank, percentile, list tier, veto) of a run's results for
    enterprise ids in [lo, hi] (policy's points atoms read them)."""
    return repo.points_between(session, run_id, lo, hi)


def points_id_bounds(session: Session, run_id: int) -> tuple[int, int] | None:
    """The range of enterprise ids a run's results cover (None: none), for readers that
    page through :func:`points_between`."""
    return repo.result_id_bounds(session, run_id)
