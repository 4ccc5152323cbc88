"""Eligibility runs over the database: read the facts, evaluate, shape the result rows.

This module adds the database side to the file-based engine without changing it: the
inputs come from :func:`kechuang.facts.read_facts` (the same wide table ``policy eval``
reads from a file), :func:`kechuang.policy.evaluate.evaluate` computes the verdicts over
whole columns, and the result rows are shaped column-wise (JSON built by pandas in C, not
per enterprise) for a bulk insert by :mod:`kechuang.policy.repository`.

Reproducibility: a run records the sha256 of the policy file, the as-of date, the
parameters in force and an input hash (sha256 over the per-enterprise hashes of the input
rows), so that two runs over the same data give the same hash and the same rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from kechuang.policy.evaluate import Evaluation, Frame, evaluate, evaluation_year
from kechuang.policy.loader import LoadedPolicy, builtin_policies

#: the input years of a run: the evaluation year and the two before it (three-year rules)
YEARS_BACK = 2


def input_years(as_of: date) -> list[int]:
    year = evaluation_year(as_of)
    return list(range(year - YEARS_BACK, year + 1))


@cache
def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def policy_hash(lp: LoadedPolicy) -> str:
    """The version of a policy: the sha256 of its file's bytes."""
    return _file_hash(lp.source)


def parameters_in_force(lp: LoadedPolicy, as_of: date) -> dict[str, dict[str, Any]]:
    """Every parameter's value and legal reference as the evaluation applies them."""
    year = evaluation_year(as_of)
    out: dict[str, dict[str, Any]] = {}
    for name, param in lp.policy.parameters.items():
        when = as_of if param.select == "as_of" else date(year, 12, 31)
        value = param.at(when)
        if value is not None:
            out[name] = {"value": value.value, "ref": value.ref, "from": value.start.isoformat()}
    return out


def enterprise_hashes(data: pd.DataFrame) -> pd.Series:
    """One 64-bit hash per enterprise (indexed by uscc) over all of its input rows.

    Row hashes come from pandas (vectorised); summing them per enterprise makes the result
    independent of row order. Columns are taken in sorted order so that the same data give
    the same hash whatever the column order of the table. Numbers are hashed in their own
    dtype (float64 directly, without boxing each value), text and flags as objects.
    """
    cols = sorted(c for c in data.columns if c != "enterprise_id")
    frame = data[cols]
    # text and flag columns as plain objects (pandas may infer its string dtype for one
    # table and not for another); numbers stay float64/int64, hashed without boxing
    frame = frame.astype({c: object for c in cols
                          if getattr(frame[c].dtype, "kind", "O") not in "fiu"})
    rows = pd.util.hash_pandas_object(frame, index=False)
    summed = rows.groupby(data["uscc"].to_numpy(), sort=True).sum()
    return summed.astype("uint64").astype("int64")


def run_hash(p_hash: str, as_of: date, hashes: pd.Series) -> str:
    digest = hashlib.sha256()
    digest.update(p_hash.encode())
    digest.update(as_of.isoformat().encode())
    digest.update(np.ascontiguousarray(hashes.index.to_numpy(dtype=str)).tobytes())
    digest.update(np.ascontiguousarray(hashes.to_numpy(dtype=np.int64)).tobytes())
    return digest.hexdigest()


def _floats(a: np.ndarray) -> np.ndarray:
    """Floats with NaN as None (NULL on both backends; PostgreSQL would store NaN)."""
    arr = np.asarray(a, dtype=float)
    out = arr.astype(object)
    out[np.isnan(arr)] = None
    return out


@dataclass
class PolicyOutcome:
    """One policy evaluated over the run's input, ready to be written."""

    lp: LoadedPolicy
    as_of: date
    evaluation: Evaluation
    policy_hash: str
    input_hash: str
    parameters: dict[str, dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)

    def result_rows(self, enterprise_ids: pd.Series, hashes: pd.Series) -> pd.DataFrame:
        """Columns of ``policy_result`` (without ``run_id``), JSON columns as text.

        The JSON is built by DuckDB over whole columns (no per-enterprise formatting):
        ``values`` maps each leaf and estimate id to the number it tested, ``[lo, hi]`` for
        a range, ``"inf"`` for +∞ (``x / 0`` with ``x > 0``), null when an input is missing.
        """
        ev = self.evaluation
        n = len(ev.uscc)
        cols: dict[str, Any] = {}
        value_sql: list[str] = []
        failed_sql: list[str] = []
        items = [(k, r.checks[0].value) for k, r in ev.leaves.items()]
        items += list(ev.estimates.items())
        for i, (key, iv) in enumerate(items):
            cols[f"lo{i}"] = np.asarray(iv.lo, dtype=float)
            cols[f"hi{i}"] = np.asarray(iv.hi, dtype=float)
            value_sql.append(f"{_sql_str(key)}, {_iv_json(f'lo{i}', f'hi{i}')}")
        for i, (key, res) in enumerate(ev.leaves.items()):
            cols[f"f{i}"] = np.asarray(res.failed, dtype=bool)
            failed_sql.append(f"CASE WHEN f{i} THEN {_sql_str(key)} END")
        cols["missing"] = pd.Series(ev.missing, dtype=object).fillna("").to_numpy(dtype=object)
        frame = pd.DataFrame(cols, index=range(n))
        failed = (f"to_json(list_filter([{', '.join(failed_sql)}], lambda x: x IS NOT NULL))"
                  if failed_sql else "'[]'")
        values = f"json_object({', '.join(value_sql)})" if value_sql else "'{}'"
        con = duckdb.connect()
        try:
            con.register("ev", frame)
            got = con.execute(
                f"SELECT CAST({values} AS VARCHAR), CAST({failed} AS VARCHAR), "
                "CASE WHEN missing = '' THEN '[]' "
                "ELSE CAST(to_json(string_split(missing, ';')) AS VARCHAR) END FROM ev"
            ).fetchnumpy()
        finally:
            con.close()
        values_json, failed_json, missing_json = (np.asarray(v, dtype=object)
                                                  for v in got.values())
        has_score = ev.pass_mark is not None
        lo = ev.score_lo if has_score else np.full(n, np.nan)
        hi = ev.score_hi if has_score else np.full(n, np.nan)
        return pd.DataFrame({
            "enterprise_id": enterprise_ids.reindex(ev.uscc).to_numpy(dtype=np.int64),
            "verdict": np.asarray(ev.verdict, dtype=object),
            "score": _floats((lo + hi) / 2),
            "score_min": _floats(lo),
            "score_max": _floats(hi),
            "failed": failed_json,
            "missing": missing_json,
            "values": values_json,
            "input_hash": hashes.reindex(ev.uscc).to_numpy(dtype=np.int64),
        })


def _sql_str(text_: str) -> str:
    return "'" + text_.replace("'", "''") + "'"


def _num_json(col: str) -> str:
    return (f"CASE WHEN isinf({col}) THEN to_json(CASE WHEN {col} > 0 THEN 'inf' "
            f"ELSE '-inf' END) ELSE to_json({col}) END")


def _iv_json(lo: str, hi: str) -> str:
    return (f"CASE WHEN isnan({lo}) OR isnan({hi}) THEN NULL WHEN {lo} = {hi} "
            f"THEN {_num_json(lo)} ELSE json_array({_num_json(lo)}, {_num_json(hi)}) END")


class GridFrame(Frame):
    """A :class:`Frame` over a complete grid — every enterprise × every input year, sorted
    by uscc then year, attributes repeated on each row (what :func:`read_facts` returns
    once sorted). Column access is a strided slice instead of a group-by and re-index per
    column, which is what makes evaluation over 100,000s of enterprises fast; the values
    are the same (the grid has exactly one row per enterprise and year)."""

    def __init__(self, data: pd.DataFrame, as_of: date, years: list[int]) -> None:
        ny = len(years)
        codes = data["uscc"].to_numpy(dtype=object)
        n = len(codes) // ny if ny else 0
        ok = ny > 0 and len(codes) == n * ny and bool(
            (data["year"].to_numpy() == np.tile(np.array(years), n)).all())
        if ok and n:
            block = codes.reshape(n, ny)
            first = block[:, 0]
            ok = bool((block == first[:, None]).all()) and bool((first[1:] > first[:-1]).all())
        if not ok:
            raise ValueError("GridFrame needs one row per enterprise and year, sorted")
        self.years = years
        super().__init__(data, as_of)

    def _series(self, name: str, year: int | None) -> pd.Series:
        ny = len(self.years)
        values = self.df[name].to_numpy()
        if year is None:
            # attributes repeat on every row of an enterprise: take the last non-null one
            block = values.reshape(self.n, ny)
            notna = ~pd.isna(block)
            last = ny - 1 - np.argmax(notna[:, ::-1], axis=1)
            picked = block[np.arange(self.n), last]
            picked = np.where(notna.any(axis=1), picked, None)
            return pd.Series(picked, index=self.uscc)
        if year not in self.years:
            return pd.Series(np.full(self.n, np.nan), index=self.uscc)
        return pd.Series(values[self.years.index(year)::ny], index=self.uscc)


def evaluate_policies(data: pd.DataFrame, policies: list[LoadedPolicy],
                      as_of: date) -> tuple[list[PolicyOutcome], pd.Series, pd.Series]:
    """Evaluate each policy over the same input (the reshaping is shared).

    Returns the outcomes, the enterprise id per uscc and the per-enterprise input hashes.
    """
    hashes = enterprise_hashes(data)
    enterprise_ids = data.groupby("uscc", sort=True)["enterprise_id"].first()
    years = input_years(as_of)
    frame_input = data.drop(columns=["enterprise_id"]).sort_values(
        ["uscc", "year"], kind="stable").reset_index(drop=True)
    frame: Frame
    try:
        frame = GridFrame(frame_input, as_of, years)
    except ValueError:
        frame = Frame(frame_input, as_of)
    outcomes = []
    for lp in policies:
        ev = evaluate(lp, frame, as_of)
        p_hash = policy_hash(lp)
        counts = pd.Series(ev.verdict).value_counts().to_dict()
        outcomes.append(PolicyOutcome(
            lp, as_of, ev, p_hash, run_hash(p_hash, as_of, hashes),
            parameters_in_force(lp, as_of), {str(k): int(v) for k, v in counts.items()},
        ))
    return outcomes, enterprise_ids, hashes


def resolve_policies(policy_ids: list[str] | None) -> list[LoadedPolicy]:
    """Built-in policies by id (all of them when none are named)."""
    from kechuang.policy.loader import get_policy

    if not policy_ids:
        return list(builtin_policies().values())
    return [get_policy(pid) for pid in policy_ids]
