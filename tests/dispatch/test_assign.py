"""The assignment engine against brute force on small random instances, and its documented
behaviour: seats first then fit, conflicts, zero capacity, explanations, alternates."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kechuang.dispatch.assign import (
    REVIEW_NOUNS,
    Pair,
    Person,
    Task,
    solve,
)
from kechuang.kit.errors import InvalidInput


def brute_force(tasks, people, pairs, forbidden):
    """Enumerate every subset of allowed pairs; best (seats, fit) lexicographically."""
    allowed = [p for p in pairs if (p.task_id, p.person_id) not in forbidden]
    need = {t.id: t.need for t in tasks}
    cap = {p.id: p.capacity for p in people}
    best = (0, 0.0)
    for mask in range(1 << len(allowed)):
        chosen = [allowed[i] for i in range(len(allowed)) if mask >> i & 1]
        per_task: dict[str, int] = {}
        per_person: dict[str, int] = {}
        for c in chosen:
            per_task[c.task_id] = per_task.get(c.task_id, 0) + 1
            per_person[c.person_id] = per_person.get(c.person_id, 0) + 1
        if any(n > need[t] for t, n in per_task.items()):
            continue
        if any(n > cap[p] for p, n in per_person.items()):
            continue
        value = (len(chosen), sum(c.fit for c in chosen))
        if value[0] > best[0] or (value[0] == best[0] and value[1] > best[1] + 1e-12):
            best = value
    return best


@st.composite
def instances(draw):
    n_t = draw(st.integers(1, 4))
    n_p = draw(st.integers(1, 4))
    tasks = [Task(f"t{i}", draw(st.integers(0, 3))) for i in range(n_t)]
    people = [Person(f"p{j}", draw(st.integers(0, 3))) for j in range(n_p)]
    cells = list(itertools.product(range(n_t), range(n_p)))
    chosen = draw(st.lists(st.sampled_from(cells), unique=True, max_size=11))
    pairs = [Pair(f"t{i}", f"p{j}", draw(st.integers(-1000, 5000)) / 1000)
             for i, j in chosen]
    forbidden = {(p.task_id, p.person_id) for p in pairs if draw(st.booleans()) and
                 draw(st.integers(0, 3)) == 0}
    return tasks, people, pairs, forbidden


@settings(max_examples=250, deadline=None)
@given(instances())
def test_optimal_against_brute_force(inst):
    tasks, people, pairs, forbidden = inst
    result = solve(tasks, people, pairs, forbidden, verify=True)
    seats, fit = brute_force(tasks, people, pairs, forbidden)
    assert result.proof.negative_cycle_free is True
    assert result.seats_filled == seats
    assert result.total_fit == pytest.approx(fit, abs=1e-9)
    assert result.proof.optimal
    # the assignment itself respects every constraint
    need = {t.id: t.need for t in tasks}
    cap = {p.id: p.capacity for p in people}
    for t in tasks:
        got = result.assigned_to(t.id)
        assert len(got) <= need[t.id]
        assert len({a.person_id for a in got}) == len(got)
        assert result.missing[t.id] == need[t.id] - len(got)
    for a in result.assignments:
        assert (a.task_id, a.person_id) not in forbidden
        assert cap[a.person_id] > 0
    for pid, n in result.load.items():
        assert n <= cap[pid]
    # missing seats are fully accounted for by the explanations' deficiencies
    if result.seats_filled < result.seats_needed:
        assert result.explanations
        kinds = {e.kind for e in result.explanations}
        if "total_capacity" not in kinds:
            assert sum(e.missing for e in result.explanations) == (
                result.seats_needed - result.seats_filled)


def test_serving_more_requests_beats_higher_fit():
    # p1 could give request a fit 10, but then b (only p1 fits it) stays unserved
    tasks = [Task("a"), Task("b")]
    people = [Person("p1", 1), Person("p2", 1)]
    pairs = [Pair("a", "p1", 10.0), Pair("a", "p2", 1.0), Pair("b", "p1", 1.0)]
    r = solve(tasks, people, pairs)
    assert {(x.task_id, x.person_id) for x in r.assignments} == {("a", "p2"), ("b", "p1")}
    assert r.total_fit == pytest.approx(2.0)


def test_zero_capacity_is_never_assigned_and_explained():
    tasks = [Task("12")]
    people = [Person("zero", 0), Person("bad", 2)]
    pairs = [Pair("12", "zero", 9.0), Pair("12", "bad", 5.0)]
    r = solve(tasks, people, pairs, forbidden={("12", "bad")})
    assert r.assignments == []
    assert r.missing == {"12": 1}
    [e] = [e for e in r.explanations if e.kind != "total_capacity"]
    assert e.kind == "zero_capacity"
    assert "#12" in e.message_zh and "容量为 0" in e.message_zh


def test_all_candidates_conflicted_message():
    tasks = [Task("12"), Task("13")]
    people = [Person("p1", 5), Person("p2", 5)]
    pairs = [Pair("12", "p1", 1.0), Pair("12", "p2", 2.0), Pair("13", "p1", 1.0)]
    r = solve(tasks, people, pairs, forbidden={("12", "p1"), ("12", "p2")})
    assert r.missing == {"12": 1, "13": 0}
    [e] = r.explanations
    assert e.kind == "all_conflicted"
    assert e.message_zh == "需求 #12 的所有候选特派员均有利益冲突"


def test_no_candidates_message():
    r = solve([Task("7")], [Person("p", 1)], [])
    [e] = r.explanations
    assert e.kind == "no_candidates" and "#7" in e.message_zh


def test_total_capacity_shortage_message():
    tasks = [Task(str(i)) for i in range(42)]
    people = [Person(f"p{j}", 10) for j in range(3)]
    pairs = [Pair(t.id, p.id, 1.0) for t in tasks for p in people]
    r = solve(tasks, people, pairs)
    assert r.seats_filled == 30
    assert any(e.message_zh.startswith("特派员总容量 30 少于需求所需 42")
               for e in r.explanations)


def test_hall_deficiency_names_the_tasks_and_their_few_candidates():
    # requests 1-3 can only use p1 (capacity 2); request 4 has plenty of others
    tasks = [Task(str(i)) for i in range(1, 5)]
    people = [Person("p1", 2), Person("p2", 3), Person("p3", 3)]
    pairs = [Pair(str(i), "p1", 1.0) for i in range(1, 4)]
    pairs += [Pair("4", "p2", 1.0), Pair("4", "p3", 1.0)]
    r = solve(tasks, people, pairs)
    assert r.seats_filled == 3
    [e] = r.explanations
    assert e.kind == "hall"
    assert set(e.task_ids) == {"1", "2", "3"} and e.person_ids == ["p1"]
    assert (e.demand, e.supply, e.missing) == (3, 2, 1)
    assert "差 1 名" in e.message_zh


def test_team_tasks_for_review_with_person_once_per_task():
    # an application needing 3 reviewers with only 2 eligible experts: 2 seats, 1 missing
    tasks = [Task("app1", need=3)]
    people = [Person("e1", 5), Person("e2", 5)]
    pairs = [Pair("app1", "e1", 0.5), Pair("app1", "e2", 0.7)]
    r = solve(tasks, people, pairs, nouns=REVIEW_NOUNS)
    assert r.seats_filled == 2 and r.missing == {"app1": 1}
    [e] = r.explanations
    assert e.kind == "hall" and "申请" in e.message_zh and "差 1 名" in e.message_zh


def test_alternates_are_next_best_with_free_capacity():
    tasks = [Task("a"), Task("b")]
    people = [Person("p1", 1), Person("p2", 1), Person("p3", 2), Person("p4", 0)]
    pairs = [Pair("a", "p1", 5.0), Pair("a", "p2", 4.0), Pair("a", "p3", 3.0),
             Pair("a", "p4", 9.0), Pair("b", "p2", 6.0)]
    r = solve(tasks, people, pairs, alternates=2)
    assert {(x.task_id, x.person_id) for x in r.assignments} == {("a", "p1"), ("b", "p2")}
    # p2 is full, p4 has zero capacity: only p3 is left for a; b has no one left
    assert [(x.person_id, x.free) for x in r.alternates["a"]] == [("p3", 2)]
    assert r.alternates["b"] == []


@pytest.mark.parametrize("bad", [
    dict(tasks=[Task("a"), Task("a")]),
    dict(people=[Person("p", -1)]),
    dict(pairs=[Pair("a", "p", 1.0), Pair("a", "p", 2.0)]),
    dict(pairs=[Pair("zz", "p", 1.0)]),
    dict(pairs=[Pair("a", "p", float("nan"))]),
])
def test_bad_input_is_refused_clearly(bad):
    args = dict(tasks=[Task("a")], people=[Person("p", 1)], pairs=[])
    args.update(bad)
    with pytest.raises(InvalidInput):
        solve(args["tasks"], args["people"], args["pairs"])


def test_negative_cycle_check_rejects_a_suboptimal_flow():
    import numpy as np

    from kechuang.dispatch.assign import _no_negative_cycle

    # two tasks, two people (capacity 1): a→p1 (5), a→p2 (1), b→p1 (1), b→p2 (5)
    need = np.array([1, 1])
    cap = np.array([1, 1])
    e_task = np.array([0, 0, 1, 1])
    e_person = np.array([0, 1, 0, 1])
    e_fit = np.array([5.0, 1.0, 1.0, 5.0])
    best = np.array([True, False, False, True])
    crossed = np.array([False, True, True, False])  # same seats, fit 2 instead of 10
    assert _no_negative_cycle(need, cap, e_task, e_person, e_fit, best)
    assert not _no_negative_cycle(need, cap, e_task, e_person, e_fit, crossed)
