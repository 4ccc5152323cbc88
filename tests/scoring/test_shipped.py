"""The shipped systems load, compute on a synthetic county, and behave as documented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kechuang.scoring import system
from tests.scoring.util import run

ROOT = Path(__file__).resolve().parents[2]


def synthetic(n: int = 40, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    stages = rng.choice(["初创", "成长", "稳定"], n)
    sections = rng.choice(["C", "I", "M"], n)
    for u in range(n):
        scale = rng.lognormal(8, 1.2)
        for year in (2020, 2021, 2022, 2023):
            revenue = scale * (1 + 0.1 * (year - 2020)) * rng.uniform(0.8, 1.2)
            rows.append({
                "uscc": f"91320582MA{u:08d}", "name": f"企业{u}", "year": year,
                "stage": stages[u], "industry_section": sections[u],
                "revenue": revenue, "rd_expense": revenue * rng.uniform(0, 0.08),
                "employees": float(rng.integers(10, 500)),
                "rd_staff": float(rng.integers(0, 60)), "tech_staff": float(rng.integers(0, 90)),
                "phd_staff": float(rng.integers(0, 4)),
                "class1_ip": float(rng.poisson(1.5)), "class2_ip": float(rng.poisson(5)),
                "invention_patents": float(rng.poisson(3)),
                "invention_applications": float(rng.poisson(2)),
                "pct_applications": float(rng.poisson(0.3)),
                "high_tech_revenue": revenue * rng.uniform(0, 0.9),
                "net_profit": revenue * rng.uniform(-0.05, 0.15),
                "tax_paid": revenue * rng.uniform(0.01, 0.06),
                "total_assets": revenue * 1.5, "total_liabilities": revenue * rng.uniform(0.2, 1),
                "equity_financing": float(rng.choice([0, 0, 0, 500, 3000])),
                "tech_contract_value": float(rng.choice([0, 0, 50, 400])),
                "transformations": float(rng.poisson(0.8)),
                "standards_led": float(rng.poisson(0.2)),
                "awards_national": float(rng.poisson(0.05)),
                "awards_provincial": float(rng.poisson(0.2)),
                "abnormal_operation": float(u % 13 == 0),
                "major_incident_last_year": float(u % 17 == 5),
                "seriously_dishonest": float(u % 11 == 3),
            })
    return pd.DataFrame(rows)


DATA = synthetic()


@pytest.mark.parametrize("stem", ["zjg-1.0", "zjg-2.0", "torch"])
def test_shipped_system_computes(stem):
    s = system.load(system.shipped()[stem])
    scores, trace, r = run(s, DATA)
    assert r.year == 2023 and len(scores) == 40
    assert scores["total"].notna().all()
    ranks = scores["total_rank"].to_numpy()
    expect = [1 + int((scores["total"] > v).sum()) for v in scores["total"]]
    assert ranks.tolist() == expect
    assert set(trace["indicator"]) == set(s.indicators)
    doc = ROOT / "docs" / "scoring" / f"{stem}.md"
    text = doc.read_text(encoding="utf-8")
    for code in s.order:
        assert f"`{code}`" in text, f"{code} is not documented in {doc.name}"


def test_zjg_versions_are_dated_and_2_0_is_broader():
    v1 = system.load(system.shipped()["zjg-1.0"])
    v2 = system.load(system.shipped()["zjg-2.0"])
    assert v1.spec.id == v2.spec.id and (v1.version, v2.version) == ("1.0", "2.0")
    assert v1.spec.effective_from.year == 2015 and v2.spec.effective_from.year == 2020
    assert len(v2.indicators) > len(v1.indicators)


def test_torch_structure_stage_weights_bonus_penalty_and_veto():
    s = system.load(system.shipped()["torch"])
    first = [s.groups[c].name for c in s.groups["total"].children[:3]]
    assert first == ["技术创新", "成长经营", "辅助"]
    assert sum(len(s.groups[c].children) for c in ("tech", "growth", "aux")) == 18
    scores, _, _ = run(s, DATA)
    weights = {"初创": (0.60, 0.25), "成长": (0.50, 0.35), "稳定": (0.40, 0.45)}
    stage = DATA[DATA.year == 2023].set_index("uscc")["stage"]
    for uid, row in scores.iterrows():
        wt, wg = weights[stage[uid]]
        expect = (wt * row["tech"] + wg * row["growth"] + 0.15 * row["aux"] + row["bonus"]
                  + row["penalty"])
        assert row["total"] == pytest.approx(expect)
    assert scores.loc["91320582MA00000000", "penalty"] == -10  # abnormal operation
    assert scores.loc["91320582MA00000005", "penalty"] == -20  # major incident
    vetoed = scores[scores["veto"] == "seriously_dishonest"].index
    assert set(vetoed) == {f"91320582MA{u:08d}" for u in range(40) if u % 11 == 3}
    assert scores.loc[vetoed, "total"].notna().all()  # the score stays visible
