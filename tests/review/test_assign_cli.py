"""``kechuang review assign``: the file contract of issue 12 (docs/cli/review.md).

Optimal and fair results are compared with brute force over every assignment of small
random instances; infeasibility names applications and the binding constraint; bad input
names file, row and column and writes nothing."""

from __future__ import annotations

import csv
import itertools
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kechuang.cli import app

runner = CliRunner()

AFFINITY = """application_id,expert_id,affinity
1,a,0.9
1,b,0.5
1,c,0.1
2,a,0.8
2,b,0.7
2,c,0.2
10,a,0.3
10,c,0.9
10,b,0.4
"""


def _run(tmp_path: Path, affinity: str = AFFINITY, *, k: int = 2, load: int = 2,
         conflicts: str | None = None, fair: bool = False, extra: list[str] | None = None):
    a = tmp_path / "affinity.csv"
    a.write_text(affinity, encoding="utf-8")
    out = tmp_path / "assignment.csv"
    args = ["review", "assign", "--affinity", str(a), "--k", str(k), "--max-load", str(load),
            "--out", str(out)]
    if conflicts is not None:
        c = tmp_path / "conflicts.csv"
        c.write_text(conflicts, encoding="utf-8")
        args += ["--conflicts", str(c)]
    if fair:
        args.append("--fair")
    result = runner.invoke(app, args + (extra or []))
    return result, out


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _summary(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- happy path
def test_optimal_assignment_file_and_summary(tmp_path: Path) -> None:
    result, out = _run(tmp_path)
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert rows[0] == ["application_id", "expert_id", "affinity"]
    # natural order of application ids: 1, 2, 10 (not 1, 10, 2); experts by id inside
    assert [r[0] for r in rows[1:]] == ["1", "1", "2", "2", "10", "10"]
    for app_id in ("1", "2", "10"):
        experts = [r[1] for r in rows[1:] if r[0] == app_id]
        assert experts == sorted(experts)
    s = _summary(result)
    # max total: 1→{a,c} 1.0, 2→{a,b} 1.5, 10→{b,c} 1.3 = 3.8 (each expert reviews 2)
    assert s["total_affinity"] == pytest.approx(3.8)
    assert s["worst_application"] == {"application_id": "1", "affinity": pytest.approx(1.0)}
    assert s["status"] == "optimal" and "HiGHS" in s["solver_status"]
    assert sum(float(r[2]) for r in rows[1:]) == pytest.approx(3.8)


def test_affinity_written_as_read_and_negative_allowed(tmp_path: Path) -> None:
    text = "application_id,expert_id,affinity\nx,e1,-0.250\nx,e2,1E-3\nx,e3,-2\n"
    result, out = _run(tmp_path, text, k=2, load=1)
    assert result.exit_code == 0, result.output
    assert _rows(out)[1:] == [["x", "e1", "-0.250"], ["x", "e2", "0.001"]]
    assert _summary(result)["total_affinity"] == pytest.approx(-0.249)


def test_conflicts_are_never_assigned(tmp_path: Path) -> None:
    result, out = _run(tmp_path, conflicts="application_id,expert_id\n10,c\n2,a\n")
    assert result.exit_code == 0, result.output
    pairs = {(r[0], r[1]) for r in _rows(out)[1:]}
    assert ("10", "c") not in pairs and ("2", "a") not in pairs
    assert _summary(result)["conflicts"] == 2


def test_output_does_not_depend_on_row_order(tmp_path: Path) -> None:
    lines = AFFINITY.strip().split("\n")
    shuffled = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    r1, out1 = _run(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path)
    first = out1.read_text(encoding="utf-8")
    r2, out2 = _run(tmp_path, shuffled)
    assert r1.exit_code == r2.exit_code == 0
    assert out2.read_text(encoding="utf-8") == first


def test_formula_like_ids_are_neutralised(tmp_path: Path) -> None:
    text = "application_id,expert_id,affinity\n=HYPERLINK(1),e1,0.5\n=HYPERLINK(1),e2,0.4\n"
    result, out = _run(tmp_path, text, k=2, load=1)
    assert result.exit_code == 0, result.output
    assert all(r[0].startswith("'=") for r in _rows(out)[1:])


# --------------------------------------------------------------------------- brute force
def _brute(apps: list[str], exps: list[str], aff: dict[tuple[str, str], float],
           banned: set[tuple[str, str]], k: int, load: int) -> list[tuple[float, float]]:
    """(total, worst) of every feasible assignment."""
    options = []
    for a in apps:
        cands = [e for e in exps if (a, e) in aff and (a, e) not in banned]
        options.append(list(itertools.combinations(cands, k)))
    out = []
    for choice in itertools.product(*options):
        count: dict[str, int] = {}
        for team in choice:
            for e in team:
                count[e] = count.get(e, 0) + 1
        if any(v > load for v in count.values()):
            continue
        scores = [sum(aff[(a, e)] for e in team) for a, team in zip(apps, choice, strict=True)]
        out.append((sum(scores), min(scores)))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force_optimal_and_fair(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    apps = [f"P{i}" for i in range(1, rnd.randint(3, 5) + 1)]
    exps = [f"R{j}" for j in range(1, rnd.randint(4, 5) + 1)]
    k = 2
    load = rnd.randint(2, 3)
    aff = {(a, e): round(rnd.random(), 3) for a in apps for e in exps if rnd.random() < 0.85}
    banned = {p for p in aff if rnd.random() < 0.1}
    text = "application_id,expert_id,affinity\n" + "".join(
        f"{a},{e},{v}\n" for (a, e), v in aff.items())
    conflicts = "application_id,expert_id\n" + "".join(f"{a},{e}\n" for a, e in banned)
    every = _brute(apps, exps, aff, banned, k, load)
    result, out = _run(tmp_path, text, k=k, load=load, conflicts=conflicts)
    if not every:
        assert result.exit_code == 1
        assert not out.exists()
        return
    assert result.exit_code == 0, result.output
    best_total = max(t for t, _ in every)
    s = _summary(result)
    assert s["total_affinity"] == pytest.approx(best_total, abs=1e-9)
    rows = _rows(out)[1:]
    assert len(rows) == k * len(apps)
    assert all((r[0], r[1]) not in banned for r in rows)
    # fair: the best worst score first, then the best total among those
    best_worst = max(w for _, w in every)
    best_total_fair = max(t for t, w in every if w >= best_worst - 1e-9)
    result, out = _run(tmp_path, text, k=k, load=load, conflicts=conflicts, fair=True)
    assert result.exit_code == 0, result.output
    s = _summary(result)
    assert s["worst_affinity"] == pytest.approx(best_worst, abs=1e-9)
    assert s["total_affinity"] == pytest.approx(best_total_fair, abs=1e-9)
    assert s["status"] == "optimal"


# --------------------------------------------------------------------------- infeasible
def test_infeasible_too_few_candidates(tmp_path: Path) -> None:
    text = AFFINITY + "11,a,0.5\n"
    result, out = _run(tmp_path, text)
    assert result.exit_code == 1
    assert not out.exists()
    assert "11" in result.stderr and "候选专家不足" in result.stderr
    s = _summary(result)
    assert s["status"] == "infeasible"
    assert s["unserved_applications"] == ["11"]
    assert s["unserved"][0]["constraint"] == "too_few_candidates"


def test_infeasible_conflicts(tmp_path: Path) -> None:
    result, out = _run(tmp_path, conflicts="application_id,expert_id\n2,a\n2,b\n")
    assert result.exit_code == 1
    assert not out.exists()
    assert "利益冲突" in result.stderr and "申请 2" in result.stderr
    s = _summary(result)
    assert s["unserved"][0]["constraint"] == "conflicts"
    assert s["unserved_applications"] == ["2"]


def test_infeasible_capacity_names_the_group(tmp_path: Path) -> None:
    # three applications share experts a, b, c with load 1: 3 seats for 6 needed
    result, out = _run(tmp_path, load=1)
    assert result.exit_code == 1
    assert not out.exists()
    assert "专家评审容量" in result.stderr
    s = _summary(result)
    kinds = {u["constraint"] for u in s["unserved"]}
    assert kinds == {"capacity"}
    assert set(s["unserved_applications"]) == {"1", "2", "10"}


def test_infeasible_capacity_of_a_subset(tmp_path: Path) -> None:
    # x and y can only use e1 and e2 (load 1 each): 4 seats needed, 2 available;
    # z has its own experts and is fine
    text = ("application_id,expert_id,affinity\nx,e1,1\nx,e2,1\ny,e1,1\ny,e2,1\n"
            "z,e3,1\nz,e4,1\n")
    result, out = _run(tmp_path, text, k=2, load=1)
    assert result.exit_code == 1
    s = _summary(result)
    assert s["unserved_applications"] == ["x", "y"]
    group = s["unserved"][0]
    assert group["constraint"] == "capacity" and set(group["expert_ids"]) == {"e1", "e2"}
    assert group["demand"] == 4 and group["supply"] == 2


def test_zero_load_is_infeasible_not_an_error(tmp_path: Path) -> None:
    result, out = _run(tmp_path, load=0)
    assert result.exit_code == 1
    assert not out.exists()


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("text", "conflicts", "k", "load", "expect"), [
    (AFFINITY + "1,a,0.3\n", None, 2, 2, ["第 11 行", "application_id,expert_id", "第 2 行"]),
    (AFFINITY.replace("2,b,0.7", "2,b,高"), None, 2, 2, ["第 6 行", "affinity", "不是数字"]),
    (AFFINITY.replace("2,b,0.7", "2,b,"), None, 2, 2, ["第 6 行", "affinity", "缺失不等于 0"]),
    (AFFINITY.replace("2,b,0.7", "2,b,nan"), None, 2, 2, ["第 6 行", "affinity", "有限数"]),
    (AFFINITY.replace("2,b,0.7", ",b,0.7"), None, 2, 2, ["第 6 行", "application_id", "为空"]),
    (AFFINITY, "application_id,expert_id\n3,a\n", 2, 2,
     ["conflicts.csv", "第 2 行", "application_id", "3"]),
    (AFFINITY, "application_id,expert_id\n1,a\n1,z\n", 2, 2,
     ["conflicts.csv", "第 3 行", "expert_id", "z"]),
    (AFFINITY, "application_id,expert_id\n1,a\n1,a\n", 2, 2, ["conflicts.csv", "第 3 行"]),
    (AFFINITY, None, 4, 2, ["--k", "4", "3"]),
    (AFFINITY, None, 0, 2, ["--k"]),
    (AFFINITY, None, 2, -1, ["--max-load", "-1"]),
    ("application_id,expert,affinity\n1,a,1\n", None, 1, 1, ["第 1 行", "expert_id"]),
    ("application_id,expert_id,affinity\n", None, 1, 1, ["没有数据行"]),
])
def test_bad_input_names_file_row_column_and_writes_nothing(
        tmp_path: Path, text: str, conflicts: str | None, k: int, load: int,
        expect: list[str]) -> None:
    result, out = _run(tmp_path, text, k=k, load=load, conflicts=conflicts)
    assert result.exit_code == 1, result.output  # invalid input: 1, like every command
    assert not out.exists()
    assert result.stdout == ""  # unlike an infeasible instance, no JSON
    message = result.stderr.replace("\n", "")
    for piece in expect:
        assert piece in message, (piece, message)
    if "conflicts.csv" not in expect and "--k" not in expect[0] and "--max" not in expect[0]:
        assert "affinity.csv" in message


def test_bad_input_leaves_an_existing_output_alone(tmp_path: Path) -> None:
    out = tmp_path / "assignment.csv"
    out.write_text("old\n", encoding="utf-8")
    result, _ = _run(tmp_path, AFFINITY + "1,a,x\n")
    assert result.exit_code == 1
    assert out.read_text(encoding="utf-8") == "old\n"


def test_gb18030_input_is_read(tmp_path: Path) -> None:
    text = "application_id,expert_id,affinity\n申请一,张三,0.5\n申请一,李四,0.25\n"
    a = tmp_path / "affinity.csv"
    a.write_bytes(text.encode("gb18030"))
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["review", "assign", "--affinity", str(a), "--k", "2",
                                 "--max-load", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {r[1] for r in _rows(out)[1:]} == {"张三", "李四"}
