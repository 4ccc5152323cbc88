"""Pages of expert review: the bureau's rounds (assignment, ranking, decision, overdue list)
and the expert's own assignments (read audited, review form, conflict declaration)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from kechuang.kit.errors import InvalidInput
from kechuang.review import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.review import service
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

nav.register("/review", "review.title", BUREAU, 65)
nav.register("/review/my", "review.my", {"expert"}, 65)


@router.get("/review", dependencies=[allow(BUREAU)])
def home(request: Request, db: DB, actor: CurrentActor):
    return render(request, "review/home.html",
                  {"rounds": service.list_rounds(db, actor),
                   "overdue": service.overdue(db, actor)})


@router.get("/review/rounds/{round_id}", dependencies=[allow(BUREAU)])
def round_page(request: Request, db: DB, actor: CurrentActor, round_id: RowId):
    r, rows, summary = service.ranking(db, actor, round_id)
    return render(request, "review/round.html",
                  {"r": r, "rows": rows, "summary": summary, "en": locale_of(request) == "en",
                   "assignment": r.assignment_summary or {}})


@router.post("/review/rounds/{round_id}/assign", dependencies=[allow(BUREAU)])
def assign(db: DB, actor: CurrentActor, round_id: RowId,
           fair: Annotated[bool, Form()] = False):
    service.do_assign_round(db, actor, round_id, fair=fair)
    return RedirectResponse(f"/review/rounds/{round_id}", status_code=303)


@router.post("/review/rounds/{round_id}/decision", dependencies=[allow(BUREAU)])
def decide(db: DB, actor: CurrentActor, round_id: RowId):
    service.do_record_decision(db, actor, round_id)
    return RedirectResponse(f"/review/rounds/{round_id}", status_code=303)


@router.get("/review/my", dependencies=[allow("expert")])
def my(request: Request, db: DB, actor: CurrentActor):
    return render(request, "review/my.html", {"items": service.my_assignments(db, actor)})


@router.get("/review/assignments/{assignment_id}", dependencies=[allow("expert")])
def assignment_page(request: Request, db: DB, actor: CurrentActor, assignment_id: RowId):
    a, s, r, score = service.read_for_expert(db, actor, assignment_id)
    return render(request, "review/assignment.html",
                  {"a": a, "s": s, "r": r, "score": score, "rubric": service.rubric(r.rubric_id),
                   "en": locale_of(request) == "en"})


@router.post("/review/assignments/{assignment_id}/review", dependencies=[allow("expert")])
async def submit(request: Request, db: DB, actor: CurrentActor, assignment_id: RowId):
    form = await request.form()
    scores: dict[str, float] = {}
    for key, value in form.items():
        if key.startswith("score_") and isinstance(value, str):
            try:
                scores[key.removeprefix("score_")] = float(value)
            except ValueError:
                raise InvalidInput(f"评分项“{key.removeprefix('score_')}”不是数字：{value}",
                                   f"Criterion {key.removeprefix('score_')!r} is not a "
                                   f"number: {value}") from None
    comment = form.get("comment", "")
    await run_in_threadpool(service.do_submit_review, db, actor, assignment_id, scores,
                            comment if isinstance(comment, str) else "")
    return RedirectResponse(f"/review/assignments/{assignment_id}", status_code=303)


@router.post("/review/assignments/{assignment_id}/conflict", dependencies=[allow("expert")])
def conflict(db: DB, actor: CurrentActor, assignment_id: RowId,
             reason: Annotated[str, Form(min_length=2, max_length=300)]):
    service.do_declare_conflict(db, actor, assignment_id, reason)
    return RedirectResponse("/review/my", status_code=303)
