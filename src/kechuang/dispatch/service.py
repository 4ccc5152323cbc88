"""Commissioner dispatch: the file mode (pure computation) and the database mode (a persisted,
audited run), plus confirming and re-dispatching one request.

A database run reads the open requests and active commissioners of a region scope in a few
whole-set queries, gives the engine each commissioner's *free* capacity (capacity minus the
requests they already serve), excludes conflicted pairs, and writes the run, its
assignments and alternates, moves the served requests from ``open`` to ``assigned`` (guarded:
a request changed meanwhile aborts the run) and records audit rows — all in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kechuang.auth.actor import Actor
from kechuang.auth.service import require_region_in_scope
from kechuang.dispatch import repository as repo
from kechuang.dispatch.assign import Person, Result, Task, solve
from kechuang.dispatch.files import FileCommissioner, FileRequest
from kechuang.dispatch.fit import CommissionerText, FitWeights, RequestText, fit_pairs
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, InvalidInput, NotFound
from kechuang.models.base import utcnow
from kechuang.models.dispatch import DispatchAlternate, DispatchAssignment, DispatchRun
from kechuang.models.matching import ServiceRequest

DEFAULT_ALTERNATES = 3


# ------------------------------------------------------------------ file mode
def dispatch_files(requests: Sequence[FileRequest], commissioners: Sequence[FileCommissioner],
                   conflicts: set[tuple[str, str]], weights: FitWeights | None = None,
                   alternates: int = DEFAULT_ALTERNATES) -> Result:
    pairs = fit_pairs([r.text for r in requests], [c.text for c in commissioners], weights)
    return solve([Task(r.text.id, r.team_size) for r in requests],
                 [Person(c.text.id, c.capacity, c.name) for c in commissioners],
                 pairs, conflicts, alternates=alternates)


# ------------------------------------------------------------------ database mode
@dataclass(frozen=True)
class RunSummary:
    run_id: int
    requests: int
    commissioners: int
    seats_needed: int
    seats_filled: int
    total_fit: float
    unserved: int
    explanations: list[str]


def do_dispatch(session: Session, actor: Actor, *, region_code: str | None = None,
                weights: FitWeights | None = None,
                alternates: int = DEFAULT_ALTERNATES) -> RunSummary:
    """Dispatch every open request in scope; returns the run's summary."""
    weights = weights or FitWeights()
    # the run is labelled with this region: it must be the actor's own (issue 17)
    require_region_in_scope(session, actor, region_code or actor.region_code)
    reqs = repo.requests(session, actor, region_code=region_code)
    if not reqs:
        raise InvalidInput("范围内没有待分派（open）的服务需求", "No open service request in scope")
    people = repo.commissioners(session, actor, region_code=region_code, lock=True)
    forbidden = repo.conflicts(session, [r.id for r in reqs], [c.id for c in people])
    pairs = fit_pairs(
        [RequestText(str(r.id), r.title, r.description, r.region_code, r.industry_name)
         for r in reqs],
        [CommissionerText(str(c.id), c.expertise, c.affiliation, c.region_code)
         for c in people], weights)
    result = solve([Task(str(r.id), r.team_size, r.title) for r in reqs],
                   [Person(str(c.id), c.free, c.name) for c in people], pairs,
                   {(str(r), str(c)) for r, c in forbidden}, alternates=alternates)
    run = DispatchRun(
        kind="commissioner", region_code=region_code or actor.region_code, requests=len(reqs),
        commissioners=len(people), seats_needed=result.seats_needed,
        seats_filled=result.seats_filled, total_fit=result.total_fit,
        weights=weights.as_dict(), proof=asdict(result.proof) | {"optimal": result.proof.optimal},
        explanations=[asdict(e) for e in result.explanations],
        created_by=actor.user_id, actor=actor.username)
    repo.add_run(
        session, run,
        [DispatchAssignment(request_id=int(a.task_id), commissioner_id=int(a.person_id),
                            fit=a.fit) for a in result.assignments],
        [DispatchAlternate(request_id=int(tid), commissioner_id=int(alt.person_id), rank=rank,
                           fit=alt.fit)
         for tid, alts in result.alternates.items() for rank, alt in enumerate(alts, start=1)])
    served = sorted({int(a.task_id) for a in result.assignments})
    changed = repo.set_request_status(session, served, ["open"], "assigned")
    if changed != len(served):
        raise Conflict("分派期间有服务需求的状态被他人修改，本次分派未保存，请重新运行",
                       "Requests changed during the dispatch; nothing saved, run again")
    audit.record(session, actor, "dispatch.run", "dispatch_run", run.id,
                 after={"requests": len(reqs), "seats_filled": result.seats_filled,
                        "seats_needed": result.seats_needed, "total_fit": result.total_fit,
                        "region_code": run.region_code}, region_code=run.region_code)
    region_of = {r.id: r.region_code for r in reqs}
    for a in result.assignments:
        audit.record(session, actor, "dispatch.assign", "service_request", a.task_id,
                     before={"status": "open"},
                     after={"status": "assigned", "commissioner_id": int(a.person_id),
                            "run_id": run.id, "fit": a.fit},
                     region_code=region_of[int(a.task_id)])
    return RunSummary(run.id, len(reqs), len(people), result.seats_needed, result.seats_filled,
                      result.total_fit, sum(1 for m in result.missing.values() if m),
                      [e.message_zh for e in result.explanations])


def _assignment_in_scope(session: Session, actor: Actor,
                         assignment_id: int) -> tuple[DispatchAssignment, ServiceRequest]:
    a = repo.get_assignment(session, assignment_id)
    if a is None or not repo.requests(session, actor, status=(), ids=[a.request_id]):
        raise NotFound(f"没有分派记录 #{assignment_id}", f"No assignment #{assignment_id}")
    req = repo.get_request(session, a.request_id)
    assert req is not None
    return a, req


def do_confirm(session: Session, actor: Actor, assignment_id: int) -> DispatchAssignment:
    """The bureau confirms an assignment: the request goes into service."""
    a, req = _assignment_in_scope(session, actor, assignment_id)
    if a.status != "assigned":
        raise Conflict(f"分派记录 #{a.id} 的状态为 {a.status}，只有“已分派”可以确认",
                       f"Assignment #{a.id} is {a.status}; only assigned ones can be confirmed")
    a.status, a.updated_at = "confirmed", utcnow()
    old = req.status
    req.status = "in_service"
    audit.record(session, actor, "dispatch.confirm", "service_request", req.id,
                 before={"status": old, "assignment": a.id},
                 after={"status": "in_service", "commissioner_id": a.commissioner_id},
                 region_code=req.region_code)
    return a


def do_redispatch(session: Session, actor: Actor, assignment_id: int,
                  commissioner_id: int | None = None) -> DispatchAssignment:
    """Replace the commissioner of one request by an alternate of the run: the chosen one, or
    the best-ranked alternate that still has free capacity and no conflict now."""
    a, req = _assignment_in_scope(session, actor, assignment_id)
    if a.status not in repo.ACTIVE:
        raise Conflict(f"分派记录 #{a.id} 已被替换，不能再次改派",
                       f"Assignment #{a.id} was already replaced")
    alts = repo.alternates_of(session, a.run_id, a.request_id)
    if commissioner_id is not None:
        alts = [x for x in alts if x.commissioner_id == commissioner_id]
        if not alts:
            raise InvalidInput(f"特派员 #{commissioner_id} 不是需求 #{req.id} 的备选人选",
                               f"Commissioner #{commissioner_id} is not an alternate")
    ids = [x.commissioner_id for x in alts]
    live = {c.id: c for c in repo.commissioners(session, actor, ids=ids, lock=True)}
    banned = {c for _, c in repo.conflicts(session, [req.id], ids)}
    choice = next((x for x in alts if x.commissioner_id in live
                   and live[x.commissioner_id].free > 0 and x.commissioner_id not in banned),
                  None)
    if choice is None:
        raise Conflict(f"需求 #{req.id} 没有仍有空余容量且无利益冲突的备选特派员，请重新运行分派",
                       f"Request #{req.id} has no alternate with free capacity; run again")
    now = utcnow()
    a.status, a.updated_at = "replaced", now
    new = DispatchAssignment(run_id=a.run_id, request_id=req.id,
                             commissioner_id=choice.commissioner_id, fit=choice.fit,
                             status="assigned", replaces_id=a.id, created_at=now, updated_at=now)
    old = req.status
    req.status = "assigned"
    repo.replace_assignment(session, new, choice)
    audit.record(session, actor, "dispatch.redispatch", "service_request", req.id,
                 before={"status": old, "commissioner_id": a.commissioner_id},
                 after={"status": "assigned", "commissioner_id": new.commissioner_id,
                        "assignment": new.id}, region_code=req.region_code)
    return new


# ------------------------------------------------------------------ reads for pages / API
def overview(session: Session, actor: Actor) -> dict[str, Any]:
    reqs = repo.requests(session, actor)
    people = repo.commissioners(session, actor)
    runs = repo.recent_runs(session, actor, 20)
    return {"requests": reqs, "commissioners": len(people),
            "capacity": sum(c.capacity for c in people), "free": sum(c.free for c in people),
            "runs": runs}


@dataclass
class RunRow:
    request: repo.RequestRow
    assignments: list[tuple[DispatchAssignment, str]]  # with the commissioner's name
    alternates: list[tuple[DispatchAlternate, str]]
    explanations: list[str]


def run_detail(session: Session, actor: Actor, run_id: int,
               locale: str = "zh") -> tuple[DispatchRun, list[RunRow]]:
    run = repo.get_run(session, run_id)
    if run is None:
        raise NotFound(f"没有分派运行 #{run_id}", f"No dispatch run #{run_id}")
    assigns = repo.run_assignments(session, run_id)
    alts = repo.run_alternates(session, run_id)
    unserved: dict[int, list[str]] = {}
    for e in run.explanations:
        for tid in e["task_ids"]:
            unserved.setdefault(int(tid), []).append(
                e["message_en"] if locale == "en" else e["message_zh"])
    ids = {a.request_id for a in assigns} | {a.request_id for a in alts} | set(unserved)
    visible = {r.id: r for r in repo.requests(session, actor, status=(), ids=sorted(ids))}
    if ids and not visible:
        raise NotFound(f"没有分派运行 #{run_id}", f"No dispatch run #{run_id}")
    names: dict[int, str] = repo.commissioner_names(
        session, {a.commissioner_id for a in assigns} | {a.commissioner_id for a in alts})
    rows: dict[int, RunRow] = {rid: RunRow(r, [], [], unserved.get(rid, []))
                               for rid, r in visible.items()}
    for a in assigns:
        if a.request_id in rows:
            rows[a.request_id].assignments.append((a, names.get(a.commissioner_id, "")))
    for x in alts:
        if x.request_id in rows:
            rows[x.request_id].alternates.append((x, names.get(x.commissioner_id, "")))
    # the run's explanations name requests: keep those about visible requests only (the
    # value is set for this read, never written back)
    set_committed_value(run, "explanations", [
        e for e in run.explanations if {int(t) for t in e["task_ids"]} <= set(visible)])
    for row in rows.values():  # a served request of a deficient set needs no "why"
        active = sum(1 for a, _ in row.assignments if a.status != "replaced")
        if active >= row.request.team_size:
            row.explanations = []
    return run, sorted(rows.values(), key=lambda r: (not r.explanations, r.request.id))


def run_as_dict(run: DispatchRun, rows: list[RunRow]) -> dict[str, Any]:
    return {
        "id": run.id, "region_code": run.region_code, "requests": run.requests,
        "commissioners": run.commissioners, "seats_needed": run.seats_needed,
        "seats_filled": run.seats_filled, "total_fit": run.total_fit, "weights": run.weights,
        "proof": run.proof, "created_at": run.created_at.isoformat(), "actor": run.actor,
        "explanations": [{k: e[k] for k in ("kind", "task_ids", "demand", "supply", "missing",
                                             "message_zh", "message_en")}
                         for e in run.explanations],
        "requests_detail": [
            {"request_id": r.request.id, "title": r.request.title, "status": r.request.status,
             "assignments": [{"id": a.id, "commissioner_id": a.commissioner_id, "name": n,
                              "fit": a.fit, "status": a.status} for a, n in r.assignments],
             "alternates": [{"commissioner_id": x.commissioner_id, "name": n, "rank": x.rank,
                             "fit": x.fit} for x, n in r.alternates],
             "unserved": r.explanations}
            for r in rows],
    }
