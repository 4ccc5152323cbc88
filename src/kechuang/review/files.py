"""The ``kechuang review assign`` file formats (docs/cli/review.md is the user's contract).

- AFFINITY.csv ``application_id,expert_id,affinity`` — one row per pair that may be used;
  a pair not in the file cannot be assigned. The applications and experts of the problem
  are exactly those named in this file. ``affinity`` is any finite decimal number
  (negative allowed); an empty cell is an error (missing is not zero).
- CONFLICTS.csv ``application_id,expert_id`` — pairs never assigned; both ids must appear
  in AFFINITY.csv (a typo would otherwise let a conflicted expert through).
- ASSIGNMENT.csv ``application_id,expert_id,affinity`` — ``k`` rows per application,
  sorted by application id then expert id in natural order (runs of digits compared as
  numbers, see :func:`kechuang.review.engine.natural_key`); ``affinity`` as read.

CSV in UTF-8 (with or without BOM) or GB18030; extra columns ignored; blank lines skipped.
Errors name the file, the row (the header is row 1, as a spreadsheet numbers it) and the
column, in Chinese with English, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from kechuang.kit.csvfile import read_rows
from kechuang.kit.errors import InvalidInput
from kechuang.kit.safe_export import write_csv
from kechuang.review.engine import CONSTRAINT_ZH, AssignOutcome, AssignProblem, natural_key

AFFINITY_COLUMNS = ("application_id", "expert_id", "affinity")
CONFLICT_COLUMNS = ("application_id", "expert_id")
OUT_COLUMNS = ("application_id", "expert_id", "affinity")


@dataclass(frozen=True)
class AffinityFile:
    problem_pairs: list[tuple[str, str, Decimal]]  # in canonical (natural) order
    rows: dict[tuple[str, str], int]  # pair → row number in the file
    app_ids: list[str]
    expert_ids: list[str]


def _number(path: Path, number: int, column: str, value: str) -> Decimal:
    if not value:
        raise InvalidInput(
            f"文件 {path} 第 {number} 行 {column} 列：匹配度为空（缺失不等于 0）。",
            f"{path} row {number} column {column}: empty affinity (missing is not zero).")
    try:
        d = Decimal(value.replace("，", "").replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(
            f"文件 {path} 第 {number} 行 {column} 列：“{value}”不是数字。",
            f"{path} row {number} column {column}: {value!r} is not a number.") from None
    if not d.is_finite():
        raise InvalidInput(
            f"文件 {path} 第 {number} 行 {column} 列：“{value}”不是有限数。",
            f"{path} row {number} column {column}: {value!r} is not a finite number.")
    return d


def _id(path: Path, number: int, column: str, value: str) -> str:
    if not value:
        raise InvalidInput(f"文件 {path} 第 {number} 行 {column} 列：编号为空。",
                           f"{path} row {number} column {column}: empty id.")
    return value


def read_affinity(path: Path) -> AffinityFile:
    rows = read_rows(path, AFFINITY_COLUMNS, strip=True)
    seen: dict[tuple[str, str], int] = {}
    pairs: list[tuple[str, str, Decimal]] = []
    for number, r in rows:
        app = _id(path, number, "application_id", r["application_id"])
        exp = _id(path, number, "expert_id", r["expert_id"])
        if (app, exp) in seen:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 application_id,expert_id 列：申请“{app}”与专家"
                f"“{exp}”这一对与第 {seen[(app, exp)]} 行重复。",
                f"{path} row {number} columns application_id,expert_id: the pair "
                f"({app!r}, {exp!r}) repeats row {seen[(app, exp)]}.")
        seen[(app, exp)] = number
        pairs.append((app, exp, _number(path, number, "affinity", r["affinity"])))
    apps = sorted({a for a, _, _ in pairs}, key=natural_key)
    exps = sorted({e for _, e, _ in pairs}, key=natural_key)
    a_rank = {a: i for i, a in enumerate(apps)}
    e_rank = {e: i for i, e in enumerate(exps)}
    pairs.sort(key=lambda t: (a_rank[t[0]], e_rank[t[1]]))
    return AffinityFile(pairs, seen, apps, exps)


def read_conflicts(path: Path, app_ids: set[str], expert_ids: set[str]) -> set[tuple[str, str]]:
    rows = read_rows(path, CONFLICT_COLUMNS, strip=True, allow_empty=True)
    out: dict[tuple[str, str], int] = {}
    for number, r in rows:
        app = _id(path, number, "application_id", r["application_id"])
        exp = _id(path, number, "expert_id", r["expert_id"])
        if app not in app_ids:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 application_id 列：申请“{app}”不在匹配度文件中。",
                f"{path} row {number} column application_id: unknown application {app!r} "
                f"(not in the affinity file).")
        if exp not in expert_ids:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 expert_id 列：专家“{exp}”不在匹配度文件中。",
                f"{path} row {number} column expert_id: unknown expert {exp!r} "
                f"(not in the affinity file).")
        if (app, exp) in out:
            raise InvalidInput(
                f"文件 {path} 第 {number} 行 application_id,expert_id 列：冲突对“{app}”/“{exp}”"
                f"与第 {out[(app, exp)]} 行重复。",
                f"{path} row {number} columns application_id,expert_id: the pair "
                f"({app!r}, {exp!r}) repeats row {out[(app, exp)]}.")
        out[(app, exp)] = number
    return set(out)


def check_options(k: int, max_load: int, n_experts: int, affinity_path: Path) -> None:
    if k < 1:
        raise InvalidInput(f"选项 --k：每个申请的评审专家人数至少为 1，实为 {k}。",
                           f"option --k: must be at least 1, got {k}.")
    if k > n_experts:
        raise InvalidInput(
            f"选项 --k：{k} 大于匹配度文件 {affinity_path} 中的专家人数 {n_experts}。",
            f"option --k: {k} is larger than the {n_experts} experts in {affinity_path}.")
    if max_load < 0:
        raise InvalidInput(f"选项 --max-load：每名专家的评审上限不能为负，实为 {max_load}。",
                           f"option --max-load: cannot be negative, got {max_load}.")


def build_problem(aff: AffinityFile, conflicts: set[tuple[str, str]], k: int,
                  max_load: int) -> AssignProblem:
    a_rank = {a: i for i, a in enumerate(aff.app_ids)}
    e_rank = {e: i for i, e in enumerate(aff.expert_ids)}
    n = len(aff.problem_pairs)
    pa = np.fromiter((a_rank[a] for a, _, _ in aff.problem_pairs), dtype=np.int64, count=n)
    pe = np.fromiter((e_rank[e] for _, e, _ in aff.problem_pairs), dtype=np.int64, count=n)
    fit = np.fromiter((float(d) for _, _, d in aff.problem_pairs), dtype=np.float64, count=n)
    bad = np.fromiter(((a, e) in conflicts for a, e, _ in aff.problem_pairs), dtype=bool,
                      count=n)
    return AssignProblem(aff.app_ids, aff.expert_ids, pa, pe, fit, bad, k,
                         np.full(len(aff.expert_ids), max_load, dtype=np.int64))


def write_assignment(path: Path, aff: AffinityFile, outcome: AssignOutcome) -> int:
    """ASSIGNMENT.csv, atomically (a temporary file renamed into place)."""
    rows = [(a, e, d) for (a, e, d), c in zip(aff.problem_pairs, outcome.chosen, strict=True)
            if c]
    return write_csv(path, OUT_COLUMNS, rows)


def summary(aff: AffinityFile, outcome: AssignOutcome, *, k: int, max_load: int, fair: bool,
            n_conflicts: int) -> dict[str, object]:
    """The JSON printed on stdout. Totals are exact decimal sums of the affinities as read."""
    chosen = [(a, e, d) for (a, e, d), c in zip(aff.problem_pairs, outcome.chosen, strict=True)
              if c]
    total = sum((d for _, _, d in chosen), Decimal(0))
    per_app: dict[str, Decimal] = {a: Decimal(0) for a in aff.app_ids}
    for a, _, d in chosen:
        per_app[a] += d
    worst = None
    if outcome.status != "infeasible" and per_app:
        wid = min(aff.app_ids, key=lambda a: (per_app[a], natural_key(a)))
        worst = {"application_id": wid, "affinity": float(per_app[wid])}
    out: dict[str, object] = {
        "status": outcome.status,
        "solver_status": outcome.solver_status,
        "fair": fair,
        "total_affinity": float(total) if outcome.status != "infeasible" else None,
        "worst_application": worst,
        "worst_affinity": worst["affinity"] if worst else None,
        "applications": len(aff.app_ids),
        "experts": len(aff.expert_ids),
        "pairs": len(aff.problem_pairs),
        "conflicts": n_conflicts,
        "k": k,
        "max_load": max_load,
        "assigned_rows": len(chosen) if outcome.status != "infeasible" else 0,
        "bounds": outcome.bounds,
    }
    if outcome.status == "infeasible":
        out["unserved"] = [{"constraint": u.constraint, "application_ids": u.application_ids,
                            "expert_ids": u.expert_ids, "demand": u.demand,
                            "supply": u.supply, "message_zh": u.message_zh,
                            "message_en": u.message_en} for u in outcome.unserved]
        out["unserved_applications"] = sorted(
            {a for u in outcome.unserved for a in u.application_ids}, key=natural_key)
    return out


def constraint_zh(constraint: str) -> str:
    return CONSTRAINT_ZH.get(constraint, constraint)
