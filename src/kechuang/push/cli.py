"""``kechuang push export`` (pending messages for SMS/WeChat), ``kechuang push generate``
(messages for runs, e.g. runs made before push existed), ``kechuang push program-open``
(a call for applications has opened) and ``kechuang push test`` (the YAML cases of the push
rules, ``rules.cases.yaml``)."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, cast

import numpy as np
import pandas as pd
import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit import rules as rulefiles
from kechuang.kit.errors import InvalidInput, KechuangError
from kechuang.policy.engine import Frame
from kechuang.policy.loader import get_policy
from kechuang.policy.runs import aligned, evaluate_policies, policy_hash, prepare_frame
from kechuang.policy.service import latest_run_ids
from kechuang.push.schemas import RULES_PATH, OpenProgram, PushRules, load_rules
from kechuang.push.service import (
    do_export,
    do_push_after_runs,
    do_push_program_open,
    near_eligible,
)

CASES_PATH = RULES_PATH.with_name("rules.cases.yaml")

push_app = typer.Typer(help="精准推送 Precise push.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(push_app, name="push")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"错误：{message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _write_atomic(path: Path, data: bytes) -> None:
    directory = path.resolve().parent
    if not directory.is_dir():
        raise _fail(f"输出目录 {directory} 不存在")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@push_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output file, .xlsx or .csv")],
    since: Annotated[str | None, typer.Option(
        "--since", help="Only messages created on or after this date (YYYY-MM-DD)")] = None,
) -> None:
    """Export the pending (never exported) messages and mark them exported."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        raise _fail(f"{out}：只支持 .xlsx 或 .csv")
    try:
        when = date.fromisoformat(since) if since else None
    except ValueError as exc:
        raise _fail(f"--since 应为 YYYY-MM-DD 格式的日期：{since}") from exc
    try:
        # the file is written before the unit of work commits: a failed write rolls back
        # the exported marks, so nothing is marked exported without a file
        with unit_of_work() as session:
            data, count = do_export(session, Actor.command_line(), fmt, when)
            _write_atomic(out, data)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    typer.echo(f"已导出 {count} 条待发送消息到 {out}")


@push_app.command("generate")
def generate_cmd(
    run: Annotated[list[int] | None, typer.Option("--run", help="A policy run id; repeat for "
                                                  "several (default: the latest run of "
                                                  "each policy)")] = None,
) -> None:
    """Write the inbox messages of policy runs (idempotent: existing messages stay)."""
    try:
        with unit_of_work() as session:
            ids = list(run or latest_run_ids(session).values())
            if not ids:
                raise _fail("尚无政策计算结果；请先运行 kechuang policy run")
            summaries = do_push_after_runs(session, Actor.command_line(), ids)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    for s in summaries:
        kinds = "，".join(f"{k} {v}" for k, v in sorted(s.counts.items())) or "无"
        typer.echo(f"运行 #{s.run_id} {s.policy_id}（{s.period} 年度）：新增 {s.inserted} 条"
                   f"（候选：{kinds}；屏蔽 {s.muted}）")


@push_app.command("program-open")
def program_open_cmd(
    program: Annotated[str, typer.Option("--program", help="The call's id")],
    title: Annotated[str, typer.Option("--title", help="The call's title")],
    policy: Annotated[str, typer.Option("--policy", help="The policy whose eligible "
                                        "enterprises the call fits")],
    period: Annotated[int, typer.Option("--period", help="The call's year")],
    link: Annotated[str, typer.Option("--link", help="The call's page, a path such as "
                                      "/programs/voucher-2025")],
    closes_on: Annotated[str | None, typer.Option(
        "--closes-on", help="Application deadline (YYYY-MM-DD)")] = None,
) -> None:
    """Announce a call for applications that has opened: program_open messages to every
    enterprise the call's policy finds eligible (idempotent)."""
    try:
        call = OpenProgram(program_id=program, title=title, policy_id=policy, period=period,
                           link=link, closes_on=closes_on or None)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise _fail(f"--{field.replace('_id', '').replace('_', '-')} 不合格：{first['msg']}"
                    f"（输入：{first.get('input')!r}）") from exc
    try:
        with unit_of_work() as session:
            s = do_push_program_open(session, Actor.command_line(), call)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    fit = s.counts["program_open"] + s.muted
    typer.echo(f"项目 {s.policy_id}（{s.period} 年）：按政策计算 #{s.run_id} 符合条件 {fit} 家，"
               f"新增消息 {s.inserted} 条，屏蔽 {s.muted} 家")


# -- YAML cases of the push rules ------------------------------------------------------------

class PushCase(BaseModel):
    """A few enterprises' policy inputs (``enterprises``: uscc → input, the shape of a
    policy case: attributes at top level, yearly metrics under ``years``) evaluated by a
    built-in policy for ``period``; ``eligible`` and ``near_eligible`` list the enterprises
    the push rules count as meeting the policy and as near to it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    policy: str
    period: int
    enterprises: dict[str, dict[str, Any]] = Field(min_length=1)
    eligible: list[str]
    near_eligible: list[str]

    @model_validator(mode="after")
    def _known(self) -> PushCase:
        unknown = sorted(set(self.eligible + self.near_eligible) - set(self.enterprises))
        if unknown:
            raise ValueError(f"未列出的企业：{'、'.join(unknown)}")
        return self


class PushCaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: str
    cases: list[PushCase] = Field(min_length=1)


class _CaseFrames:
    """The case's enterprises as the one evaluation frame ``near_eligible`` reads (in place
    of the database read of ``push.service.InputFrames``)."""

    def __init__(self, frame: Frame, frame_ids: np.ndarray) -> None:
        self.frame, self.frame_ids = frame, frame_ids

    def covering(self, as_of: date, ids: np.ndarray) -> list[tuple[Frame, np.ndarray]]:
        return [(self.frame, self.frame_ids)]


def _case_data(case: PushCase) -> pd.DataFrame:
    rows = []
    for i, (uscc, given) in enumerate(case.enterprises.items(), start=1):
        attrs = {k: v for k, v in given.items() if k != "years"}
        years = given.get("years") or {case.period: {}}
        rows += [{"uscc": uscc, "enterprise_id": i, "year": int(y), **attrs, **(vals or {})}
                 for y, vals in years.items()]
    return pd.DataFrame(rows)


def run_push_case(rs: PushRules, case: PushCase, filename: str) -> rulefiles.CaseResult:
    """One case through the real evaluation and ``push.service.near_eligible``."""
    result = rulefiles.CaseResult(filename, case.name)
    as_of = date(case.period + 1, 1, 1)
    try:
        lp = get_policy(case.policy)
        data = _case_data(case)
        outcomes, enterprise_ids, hashes = evaluate_policies(data, [lp], as_of)
        cols = outcomes[0].result_columns(enterprise_ids, hashes)
        results = pd.DataFrame({k: cols[k] for k in ("enterprise_id", "verdict", "n_failed",
                                                     "score_min", "score_max")})
        frame, ids, _ = prepare_frame(data, as_of)
        inputs = _CaseFrames(frame, aligned(ids, frame.uscc).astype(np.int64))
        run = SimpleNamespace(policy_id=lp.id, policy_hash=policy_hash(lp), as_of=as_of,
                              pass_mark=outcomes[0].evaluation.pass_mark)
        eligible = results["verdict"].isin(rs.eligible_verdicts)
        near = near_eligible(cast(Any, None), cast(Any, None), cast(Any, run),
                             results[~eligible], rs, cast(Any, inputs))
    except KechuangError as exc:
        result.problems.append(f"计算失败 failed: {exc.message_zh}")
        return result
    uscc_of = {i: u for i, u in enumerate(case.enterprises, start=1)}
    got = {
        "eligible": sorted(uscc_of[int(i)] for i in results.loc[eligible, "enterprise_id"]),
        "near_eligible": sorted(uscc_of[int(i)] for i in near["enterprise_id"]),
    }
    for key in ("eligible", "near_eligible"):
        want = sorted(getattr(case, key))
        if want != got[key]:
            verdicts = dict(zip((uscc_of[int(i)] for i in results["enterprise_id"]),
                                results["verdict"], strict=True))
            result.problems.append(f"{key}: 期望 expected {want}，实为 got {got[key]}"
                                   f"（判定 verdicts {verdicts}）")
    return result


def run_push_cases(path: Path = CASES_PATH) -> list[rulefiles.CaseResult]:
    """Every case of a push-rules cases file, against the rules file it names."""
    text, name = rulefiles.read_text(path)
    cf = rulefiles.loads(text, PushCaseFile, name)
    rs = load_rules(path.parent / cf.rules)
    return [run_push_case(rs, case, name) for case in cf.cases]


@push_app.command("test")
def test_cmd(
    path: Annotated[Path | None, typer.Argument(
        help="A cases file (default: rules.cases.yaml, the cases of the shipped rules)")] = None,
) -> None:
    """Run the YAML cases of the push rules; exit 1 when one fails."""
    try:
        results = run_push_cases(path or CASES_PATH)
    except InvalidInput as exc:
        raise _fail(exc.message_zh) from exc
    lines, failed = rulefiles.case_report(results)
    for line in lines:
        typer.echo(line)
    if failed:
        raise typer.Exit(code=1)
