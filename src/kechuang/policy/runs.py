"""Eligibility runs over the database: read the facts, evaluate, shape the result rows.

This module adds the database side to the file-based engine without changing it: the
inputs come from :func:`kechuang.facts.read_facts` (the same wide table ``policy eval``
reads from a file), :func:`kechuang.policy.evaluate.evaluate` computes the verdicts over
whole columns, and the results are shaped as columns (:mod:`kechuang.policy.blocks`) that
:mod:`kechuang.policy.repository` stores in compressed blocks.

Reproducibility: a run records the sha256 of the policy file, the as-of date, the
parameters in force and an input hash (sha256 over the per-enterprise hashes of the input
rows), so that two runs over the same data give the same hash and the same rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kechuang.policy import expr
from kechuang.policy.blocks import FAILED, HI, LO
from kechuang.policy.engine import Evaluation, Frame, evaluate, evaluation_year
from kechuang.policy.loader import LoadedPolicy, builtin_policies, get_policy

#: the input years of a run: at least the evaluation year and the two before it (three-year
#: rules); more when a built-in rule looks further back (``years_back``)
YEARS_BACK = 2


def input_years(as_of: date) -> list[int]:
    year = evaluation_year(as_of)
    return list(range(year - years_back(), year + 1))


@cache
def years_back() -> int:
    """The years before the evaluation year a run reads: as far back as any built-in rule
    looks (科技型中小企业: "近五年" national awards and standards read five years), and at
    least ``YEARS_BACK`` — a rule whose window reaches past what was read would see missing
    values and answer "insufficient data" for everyone."""
    deepest = 0
    for lp in builtin_policies().values():
        for node in lp.exprs.values():
            deepest = max(deepest, expr.lookback(node))
    return max(YEARS_BACK, deepest)


def input_codes(policies: Iterable[LoadedPolicy] = ()) -> frozenset[str]:
    """The variable names read by the built-in policies and by ``policies`` (with the
    policies they refer to): the catalogue metrics among them are the columns a run reads.

    Always the built-ins' names too, so that a run and the enterprise page (which re-reads
    one enterprise's inputs to compare input hashes) read the same columns; facts no policy
    reads are neither read nor hashed, so changing them does not mark results as stale."""
    names: set[str] = set()
    stack = [*builtin_policies().values(), *policies]
    seen: set[int] = set()
    while stack:
        lp = stack.pop()
        if id(lp) in seen:
            continue
        seen.add(id(lp))
        for node in lp.exprs.values():
            names |= expr.names(node)
        stack.extend(lp.refs.values())
    return frozenset(names)


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
    return _hashes_and_order(data)[0]


def _hashes_and_order(data: pd.DataFrame) -> tuple[pd.Series, np.ndarray | None, int]:
    """:func:`enterprise_hashes`, and when the rows are blocks of ``per`` rows per
    enterprise, the order of the blocks by uscc (else None, 0)."""
    cols = sorted(c for c in data.columns if c != "enterprise_id")
    frame = data[cols]
    # text and flag columns as plain objects (pandas may infer its string dtype for one
    # table and not for another); numbers stay float64/int64, hashed without boxing
    frame = frame.astype({c: object for c in cols
                          if getattr(frame[c].dtype, "kind", "O") not in "fiu"})
    rows = pd.util.hash_pandas_object(frame, index=False)
    codes = data["uscc"].to_numpy(dtype=object)
    per = _rows_per_enterprise(codes)
    if per:  # each enterprise's rows consecutive and equally many: sum by reshaping
        firsts = codes[::per]
        order = np.argsort(firsts, kind="stable")
        summed_rows = rows.to_numpy(dtype=np.uint64).reshape(-1, per).sum(
            axis=1, dtype=np.uint64)[order]
        hashes = pd.Series(summed_rows.view(np.int64),
                           index=pd.Index(firsts[order], dtype=object))
        return hashes, order, per
    summed = rows.groupby(codes, sort=True).sum()
    return summed.astype("uint64").astype("int64"), None, 0


def _rows_per_enterprise(codes: np.ndarray) -> int:
    """k when ``codes`` is runs of k equal codes, each code in one run only (the grid
    ``read_facts`` returns: enterprise by enterprise, one row per year); 0 otherwise."""
    if not len(codes):
        return 0
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    per = int(change[0]) if len(change) else len(codes)
    if len(codes) % per:
        return 0
    block = codes.reshape(-1, per)
    firsts = block[:, 0]
    if not bool((block == firsts[:, None]).all()) or len(set(firsts)) != len(firsts):
        return 0
    return per


def hashes_bytes(hashes: pd.Series) -> bytes:
    """The per-enterprise hashes (codes and values) as the bytes a run hash digests."""
    return (np.ascontiguousarray(hashes.index.to_numpy(dtype=str)).tobytes()
            + np.ascontiguousarray(hashes.to_numpy(dtype=np.int64)).tobytes())


def run_hash(p_hash: str, as_of: date, hashes: pd.Series | bytes) -> str:
    digest = hashlib.sha256()
    digest.update(p_hash.encode())
    digest.update(as_of.isoformat().encode())
    digest.update(hashes if isinstance(hashes, bytes) else hashes_bytes(hashes))
    return digest.hexdigest()


def aligned(values: pd.Series, uscc: np.ndarray) -> np.ndarray:
    """``values`` (indexed by uscc) in the order of ``uscc``; without a re-index when they
    are in that order already (the usual case: both sorted by uscc)."""
    index = values.index.to_numpy(dtype=object)
    if len(index) == len(uscc) and bool((index == uscc).all()):
        return values.to_numpy()
    return values.reindex(pd.Index(uscc, dtype=object)).to_numpy()


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

    def result_columns(self, enterprise_ids: pd.Series,
                       hashes: pd.Series) -> dict[str, np.ndarray]:
        """The run's result columns (:mod:`kechuang.policy.blocks`), built from the
        evaluation's arrays without any per-enterprise formatting."""
        ev = self.evaluation
        n = len(ev.uscc)
        has_score = ev.pass_mark is not None
        lo = ev.score_lo if has_score else np.full(n, np.nan)
        hi = ev.score_hi if has_score else np.full(n, np.nan)
        failed = {f"{FAILED}{key}": np.asarray(res.failed, dtype=bool)
                  for key, res in ev.leaves.items()}
        n_failed = (np.sum(list(failed.values()), axis=0) if failed
                    else np.zeros(n, dtype=np.int64))
        cols: dict[str, Any] = {
            "enterprise_id": aligned(enterprise_ids, ev.uscc).astype(np.int64),
            "verdict": np.asarray(ev.verdict, dtype=object),
            "n_failed": np.asarray(n_failed, dtype=np.int16),
            "score": (lo + hi) / 2,
            "score_min": np.asarray(lo, dtype=float),
            "score_max": np.asarray(hi, dtype=float),
            "input_hash": aligned(hashes, ev.uscc).astype(np.int64),
            "missing": pd.Series(ev.missing, dtype=object).fillna("").to_numpy(dtype=object),
            **failed,
        }
        items = [(k, r.checks[0].value) for k, r in ev.leaves.items()]
        items += list(ev.estimates.items())
        for key, iv in items:
            cols[f"{LO}{key}"] = np.asarray(iv.lo, dtype=float)
            cols[f"{HI}{key}"] = np.asarray(iv.hi, dtype=float)
        return cols


@dataclass
class ChunkResult:
    """A slice of enterprises evaluated (in process or on a cluster), ready to be written:
    ``columns(i)`` the result columns of the run's ``i``-th policy (built when asked, so a
    writer holds one policy's at a time), its verdict counts and pass mark, and the slice's
    per-enterprise input hashes by uscc."""

    columns: Callable[[int], dict[str, np.ndarray]]
    counts: list[dict[str, int]]
    pass_marks: list[float | None]
    hashes: pd.Series


def chunk_result(outcomes: list[PolicyOutcome], enterprise_ids: pd.Series,
                 hashes: pd.Series) -> ChunkResult:
    return ChunkResult(lambda i: outcomes[i].result_columns(enterprise_ids, hashes),
                       [dict(o.counts) for o in outcomes],
                       [o.evaluation.pass_mark for o in outcomes], hashes)


class GridFrame(Frame):
    """A :class:`Frame` over a complete grid — every enterprise × every input year, sorted
    by uscc then year, attributes repeated on each row (what :func:`read_facts` returns
    once sorted). Column access is a strided slice instead of a group-by and re-index per
    column, which is what makes evaluation over 100,000s of enterprises fast; the values
    are the same (the grid has exactly one row per enterprise and year)."""

    def __init__(self, data: pd.DataFrame, as_of: date, years: list[int]) -> None:
        self.years = years
        self._arrays: dict[str, np.ndarray] = {}
        self._index: pd.Index | None = None
        super().__init__(data, as_of)

    def _checked(self, df: pd.DataFrame) -> pd.DataFrame:
        """The grid's structure instead of the row-by-row checks: codes strictly ascending
        block by block (so unique), each block the years in order. Codes and years come
        from the database (never empty, integers), so they are used as they are."""
        ny = len(self.years)
        codes = df["uscc"].to_numpy(dtype=object)
        n = len(codes) // ny if ny else 0
        ok = ny > 0 and len(codes) == n * ny and bool(
            (df["year"].to_numpy() == np.tile(np.array(self.years), n)).all())
        if ok and n:
            block = codes.reshape(n, ny)
            first = block[:, 0]
            ok = bool((block == first[:, None]).all()) and bool((first[1:] > first[:-1]).all())
        if not ok:
            raise ValueError("GridFrame needs one row per enterprise and year, sorted")
        return df

    def _codes(self, df: pd.DataFrame) -> np.ndarray:
        return df["uscc"].to_numpy(dtype=object)[::len(self.years)]

    def _series(self, name: str, year: int | None) -> pd.Series:
        ny = len(self.years)
        if self._index is None:
            # built once: every column's Series shares it, instead of converting the codes
            # to pandas' Arrow strings again per column
            self._index = pd.Index(self.uscc, dtype=object)
        if name not in self._arrays:  # text columns convert from Arrow once, not per year
            self._arrays[name] = self.df[name].to_numpy()
        values = self._arrays[name]
        if year is None:
            # attributes repeat on every row of an enterprise: take the last non-null one
            block = values.reshape(self.n, ny)
            notna = ~pd.isna(block)
            last = ny - 1 - np.argmax(notna[:, ::-1], axis=1)
            picked = block[np.arange(self.n), last]
            picked = np.where(notna.any(axis=1), picked, None)
            return pd.Series(picked, index=self._index)
        if year not in self.years:
            return pd.Series(np.full(self.n, np.nan), index=self._index)
        return pd.Series(values[self.years.index(year)::ny], index=self._index)


def prepare_frame(data: pd.DataFrame, as_of: date) -> tuple[Frame, pd.Series, pd.Series]:
    """The evaluation frame of an input table (a :class:`GridFrame` for the grid
    ``read_facts`` returns), the enterprise id per uscc and the per-enterprise input hashes
    (both indexed by uscc in the frame's order)."""
    hashes, order, per = _hashes_and_order(data)
    years = input_years(as_of)
    year_col = data["year"].to_numpy()
    if order is not None and bool((year_col.reshape(-1, per) == year_col[:per]).all()) and \
            bool((np.diff(year_col[:per]) > 0).all()):
        # the grid of read_facts (by enterprise id, years ascending): put the enterprises in
        # uscc order by moving whole blocks of rows, instead of sorting every row by text
        take = (order[:, None] * per + np.arange(per)).ravel()
        frame_input = data.drop(columns=["enterprise_id"]).take(take).reset_index(drop=True)
        enterprise_ids = pd.Series(data["enterprise_id"].to_numpy()[::per][order],
                                   index=hashes.index)
    else:
        enterprise_ids = data.groupby("uscc", sort=True)["enterprise_id"].first()
        frame_input = data.drop(columns=["enterprise_id"]).sort_values(
            ["uscc", "year"], kind="stable").reset_index(drop=True)
    frame: Frame
    try:
        frame = GridFrame(frame_input, as_of, years)
    except ValueError:
        frame = Frame(frame_input, as_of)
    return frame, enterprise_ids, hashes


def evaluate_policies(data: pd.DataFrame, policies: list[LoadedPolicy],
                      as_of: date) -> tuple[list[PolicyOutcome], pd.Series, pd.Series]:
    """Evaluate each policy over the same input (the reshaping is shared).

    Returns the outcomes, the enterprise id per uscc and the per-enterprise input hashes.
    """
    frame, enterprise_ids, hashes = prepare_frame(data, as_of)
    outcomes = []
    digested = hashes_bytes(hashes)
    for lp in policies:
        ev = evaluate(lp, frame, as_of)
        p_hash = policy_hash(lp)
        counts = pd.Series(ev.verdict).value_counts().to_dict()
        outcomes.append(PolicyOutcome(
            lp, as_of, ev, p_hash, run_hash(p_hash, as_of, digested),
            parameters_in_force(lp, as_of), {str(k): int(v) for k, v in counts.items()},
        ))
    return outcomes, enterprise_ids, hashes


def resolve_policies(policy_ids: list[str] | None) -> list[LoadedPolicy]:
    """Built-in policies by id (all of them when none are named)."""
    if not policy_ids:
        return list(builtin_policies().values())
    return [get_policy(pid) for pid in policy_ids]
