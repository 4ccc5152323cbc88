"""Stored results in blocks: reads by run, by enterprises (only the blocks that can hold
them), one enterprise's latest result per policy across runs, and the values, failed
leaves and missing inputs coming back as the engine produced them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from kechuang.db import unit_of_work
from kechuang.models import PolicyResultBlock
from kechuang.policy import blocks
from kechuang.policy import repository as repo
from kechuang.policy.blocks import stored_result, to_table
from tests.push.helpers import enterprise_ids, make_run


@pytest.fixture
def small_blocks(monkeypatch) -> None:
    monkeypatch.setattr(blocks, "BLOCK_ROWS", 2)  # six seeded enterprises → three blocks


def test_reads_by_run_and_by_enterprise_use_only_the_blocks_that_hold_them(
        engine: Engine, small_blocks: None) -> None:
    with unit_of_work(engine) as s:
        e = enterprise_ids(s)
        verdicts = {e[n]: v for n, v in zip(range(1, 7), ["eligible", "ineligible",
                                                           "likely", "borderline",
                                                           "insufficient_data", "eligible"],
                                            strict=True)}
        run_id = make_run(s, "tech_sme", verdicts, failed={e[2]: ["tech_sme.rd"]})
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(PolicyResultBlock)
                        .where(PolicyResultBlock.run_id == run_id)) == 3
        whole = repo.read_results(s, run_id, ["verdict", "n_failed"])
        assert whole["enterprise_id"].tolist() == sorted(verdicts)
        assert dict(zip(whole["enterprise_id"], whole["verdict"], strict=True)) == verdicts
        some = repo.read_results(s, run_id, ["verdict"], [e[2], e[5]])
        assert dict(zip(some["enterprise_id"], some["verdict"], strict=True)) == {
            e[2]: "ineligible", e[5]: "insufficient_data"}
        assert repo.read_results(s, run_id, ["verdict"], []).empty
        assert repo.read_results(s, run_id, ["verdict"], [10**9]).empty
        decoded: list[int] = []
        real_decode = repo.decode
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(repo, "decode", lambda data, cols=None: decoded.append(1)
                       or real_decode(data, cols))
            one = repo.read_results(s, run_id, ["verdict"], [e[1]])
        assert one["verdict"].tolist() == ["eligible"]
        assert len(decoded) == 1  # one block of three read, not the whole run
        n_failed = dict(zip(whole["enterprise_id"], whole["n_failed"], strict=True))
        assert n_failed[e[2]] == 1 and n_failed[e[1]] == 0


def test_an_enterprise_gets_each_policys_latest_run_that_holds_it(
        engine: Engine, small_blocks: None) -> None:
    with unit_of_work(engine) as s:
        e = enterprise_ids(s)
        old = make_run(s, "hte", {e[1]: "ineligible", e[2]: "ineligible", e[3]: "eligible"})
        new = make_run(s, "hte", {e[2]: "eligible", e[3]: "eligible"})  # e1 not in scope
        other = make_run(s, "tech_sme", {e[1]: "likely"})
    with unit_of_work(engine) as s:
        got = {run.policy_id: (run.id, r.verdict)
               for r, run in repo.latest_enterprise_results(s, e[1])}
        assert got == {"hte": (old, "ineligible"), "tech_sme": (other, "likely")}
        got2 = {run.policy_id: (run.id, r.verdict)
                for r, run in repo.latest_enterprise_results(s, e[2])}
        assert got2 == {"hte": (new, "eligible")}
        assert repo.latest_enterprise_results(s, e[6]) == []


def test_a_row_reads_back_as_the_engine_wrote_it() -> None:
    columns = {
        "enterprise_id": np.array([7], dtype=np.int64), "verdict": np.array(["ineligible"],
                                                                          dtype=object),
        "n_failed": np.array([1], dtype=np.int16), "score": np.array([math.nan]),
        "score_min": np.array([math.nan]), "score_max": np.array([math.nan]),
        "input_hash": np.array([-5], dtype=np.int64),
        "missing": np.array(["rd_expense(2023);employees(2024)"], dtype=object),
        "failed:a.ratio": np.array([True]), "failed:a.count": np.array([False]),
        "lo:a.ratio": np.array([0.027]), "hi:a.ratio": np.array([0.027]),
        "lo:a.count": np.array([3.0]), "hi:a.count": np.array([9.0]),
        "lo:a.div": np.array([math.inf]), "hi:a.div": np.array([math.inf]),
        "lo:a.gone": np.array([math.nan]), "hi:a.gone": np.array([math.nan]),
    }
    row = blocks.decode(blocks.encode(to_table(columns))).to_pylist()[0]
    r = stored_result(row)
    assert (r.enterprise_id, r.verdict, r.input_hash) == (7, "ineligible", -5)
    assert r.score is None and r.score_min is None  # NaN scores are stored as nulls
    assert r.failed == ["a.ratio"]
    assert r.missing == ["rd_expense(2023)", "employees(2024)"]
    assert r.values == {"a.ratio": 0.027, "a.count": [3.0, 9.0], "a.div": "inf",
                        "a.gone": None}
