"""Pages of expert review: the bureau's rounds (assignment, ranking, decision, overdue list)
and the expert's own assignments (read audited, review form, conflict declaration)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from kechuang.kit.errors import InvalidInput
from kechuang.review import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.review import service
from kechuang.review.schemas import ProfileIn
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

nav.register("/review", "review.title", BUREAU, 65, "funding")
nav.register("/review/my", "review.my", {"expert"}, 65, "funding")
nav.register("/review/profile", "review.profile", {"expert"}, 66, "funding")


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


# --------------------------------------------------------------------------- own profile
_SPLIT = re.compile(r"[\s,，、;；]+")
_FIELD_ZH = {"keywords": "关键词", "discipline_codes": "学科代码", "affiliation": "工作单位",
             "collaborations": "合作记录", "load_cap": "每轮评审上限", "available": "可参加评审"}


def _collaborations(text: str) -> list[dict[str, object]]:
    """One past collaboration per line, ``organisation or person, year``."""
    out: list[dict[str, object]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = re.split(r"\s*[,，]\s*", line.strip())
        name, year = ("，".join(parts[:-1]), parts[-1]) if len(parts) > 1 else (parts[0], "")
        if not name or not year.isdigit():
            raise InvalidInput(f"合作记录第 {n} 行应为“单位或姓名，年份”，实为“{line.strip()}”",
                               f"Collaborations, line {n}: expected 'organisation, year'",
                               field="collaborations")
        out.append({"name": name, "year": int(year)})
    return out


@router.get("/review/profile", dependencies=[allow("expert")])
def profile_page(request: Request, db: DB, actor: CurrentActor):
    return render(request, "review/profile.html", {"p": service.my_profile(db, actor)})


@router.post("/review/profile", dependencies=[allow("expert")])
def profile_save(db: DB, actor: CurrentActor,
                 keywords: Annotated[str, Form(max_length=2000)] = "",
                 discipline_codes: Annotated[str, Form(max_length=500)] = "",
                 affiliation: Annotated[str, Form(max_length=200)] = "",
                 collaborations: Annotated[str, Form(max_length=20000)] = "",
                 available: Annotated[bool, Form()] = False,
                 load_cap: Annotated[str, Form(max_length=10)] = "5"):
    if not load_cap.strip().isdigit():
        raise InvalidInput(f"每轮评审上限应为非负整数，实为“{load_cap}”",
                           "The load cap must be a whole number", field="load_cap")
    try:
        body = ProfileIn(keywords=[k for k in _SPLIT.split(keywords) if k],
                         discipline_codes=[c for c in _SPLIT.split(discipline_codes) if c],
                         affiliation=affiliation.strip(),
                         collaborations=_collaborations(collaborations),
                         available=available, load_cap=int(load_cap))
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else ""
        raise InvalidInput(f"“{_FIELD_ZH.get(name, name)}”不符合要求：{err['msg']}",
                           f"{name}: {err['msg']}", field=name) from None
    expert_id = service.my_profile(db, actor).expert_id  # refuses an account without one
    service.do_update_profile(db, actor, expert_id, keywords=body.keywords,
                              discipline_codes=body.discipline_codes,
                              affiliation=body.affiliation,
                              collaborations=[c.model_dump() for c in body.collaborations],
                              available=body.available, load_cap=body.load_cap)
    return RedirectResponse("/review/profile?saved=1", status_code=303)
