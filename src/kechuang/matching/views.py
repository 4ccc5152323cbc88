"""Pages of the matching registries and the match workflow.

Roles: the public sees public demands and the achievement catalogue; an enterprise manages
its own demands, service requests and positions; an institute its achievements and experts;
the bureau everything in its region. Forms post and redirect (303); the ranked matches of a
record load as an HTMX partial, because ranking takes a moment on a large catalogue.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.jobs.service import submit
from kechuang.kit.errors import InvalidInput
from kechuang.matching import confidence, imports, service, workflow
from kechuang.matching import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.matching import repository as repo
from kechuang.matching.demo import ATTRIBUTION
from kechuang.matching.engine import engine_of, matcher_for
from kechuang.matching.fields import load as load_fields
from kechuang.matching.jobs import KIND
from kechuang.matching.schemas import (
    DECLINE_REASONS,
    DEGREES,
    DEMAND_STATUSES,
    DEMAND_TRANSITIONS,
    MARK_STATUSES,
    MATURITIES,
    NEXT_STEPS,
    TRANSFER_MODES,
    VISIBILITIES,
)
from kechuang.matching.synonyms import Synonyms
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, EVERYONE, LOGGED_IN, CurrentActor, RowId, allow
from kechuang.web.render import render

router = APIRouter(include_in_schema=False)

DEMAND_EDITORS = BUREAU | {"enterprise"}
ACH_EDITORS = BUREAU | {"institute", "enterprise"}
IMPORTERS = BUREAU | {"institute", "enterprise"}
COOP_READERS = BUREAU | {"enterprise", "institute"}
PROFILE_EDITORS = BUREAU | {"institute", "expert"}
PER_PAGE = 50
#: a record id in a path: a positive 32-bit integer (larger ones cannot exist, and SQLite
#: would refuse to bind them)
RecordId = RowId

nav.register("/matching", "matching.nav.hub", EVERYONE, 50, "match")


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form as a dict (lists for repeated fields such as checkboxes)."""
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if len(values) > 1 or key.endswith("[]") else (values[0] if values
                                                                       else None)
    return {k.removesuffix("[]"): v for k, v in out.items()}


FormData = Annotated[dict[str, Any], Depends(form_data)]


def _page(request: Request) -> int:
    try:
        return max(1, min(100_000, int(request.query_params.get("page", "1"))))
    except ValueError:
        return 1


def _labels() -> dict[str, Any]:
    return {"statuses": DEMAND_STATUSES, "transitions": DEMAND_TRANSITIONS,
            "visibilities": VISIBILITIES, "marks": MARK_STATUSES, "reasons": DECLINE_REASONS,
            "steps": NEXT_STEPS, "maturities": MATURITIES, "modes": TRANSFER_MODES,
            "degrees": DEGREES, "fields": load_fields(), "attribution": ATTRIBUTION}


# --------------------------------------------------------------------------- hub


@router.get("/matching", dependencies=[allow(EVERYONE)])
def hub(request: Request, db: DB, actor: CurrentActor):
    demands, achievements, by_status, by_field = repo.hub_counts(db, actor, actor.is_bureau)
    chart = None
    if actor.is_bureau:
        fm = load_fields()
        chart = {
            "status": {"labels": [DEMAND_STATUSES[s] for s in DEMAND_STATUSES],
                       "values": [int(by_status.get(s, 0)) for s in DEMAND_STATUSES]},
            "field": [{"name": fm.name_of(k) if k else "未分类", "value": int(v)}
                      for k, v in sorted(by_field.items(), key=lambda kv: -kv[1])],
        }
    coops = len(service.cooperations(db, actor)) if actor.is_authenticated else 0
    return render(request, "matching/hub.html", {
        "n_demands": demands, "n_achievements": achievements, "n_coops": coops,
        "chart": json.dumps(chart, ensure_ascii=False) if chart else None, **_labels()})


# --------------------------------------------------------------------------- demands


@router.get("/matching/demands", dependencies=[allow(EVERYONE)])
def demand_list(request: Request, db: DB, actor: CurrentActor, q: str = "",
                status: str = ""):
    page = _page(request)
    total, rows = repo.demand_page(db, actor, q.strip()[:100],
                                   status if status in DEMAND_STATUSES else None,
                                   page, PER_PAGE)
    return render(request, "matching/demands.html", {
        "rows": rows, "q": q, "status": status, "page": page, "total": total,
        "pages": max(1, -(-total // PER_PAGE)), **_labels()})


@router.get("/matching/demands/new", dependencies=[allow(DEMAND_EDITORS)])
def demand_new(request: Request):
    return render(request, "matching/demand_form.html", _labels())


@router.post("/matching/demands", dependencies=[allow(DEMAND_EDITORS)])
def demand_create(db: DB, actor: CurrentActor, data: FormData):
    demand = service.do_create_demand(db, actor, data)
    return RedirectResponse(f"/matching/demands/{demand.id}", status_code=303)


@router.get("/matching/demands/{demand_id}", dependencies=[allow(EVERYONE)])
def demand_detail(request: Request, db: DB, actor: CurrentActor, demand_id: RecordId):
    demand = repo.get_demand(db, actor, demand_id)
    ent = repo.get_enterprise(db, demand.enterprise_id)
    can_manage = repo.can_manage_demand(db, actor, demand_id)
    return render(request, "matching/demand.html", {
        "d": demand, "enterprise": ent, "can_manage": can_manage, **_labels()})


@router.post("/matching/demands/{demand_id}/status", dependencies=[allow(DEMAND_EDITORS)])
def demand_status(db: DB, actor: CurrentActor, demand_id: RecordId,
                  to: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""):
    service.do_transition_demand(db, actor, demand_id, to, note)
    return RedirectResponse(f"/matching/demands/{demand_id}", status_code=303)


@router.get("/matching/demands/{demand_id}/matches", dependencies=[allow(DEMAND_EDITORS)])
def demand_matches(request: Request, db: DB, actor: CurrentActor, demand_id: RecordId):
    result = workflow.for_demand(db, actor, demand_id)
    return render(request, "matching/_demand_matches.html", {
        "m": result, "demand_id": demand_id, **_labels(),
        **_weak_context(_demand_next_steps(actor, result.title))})


@router.post("/matching/demands/{demand_id}/marks", dependencies=[allow(DEMAND_EDITORS)])
def demand_mark(db: DB, actor: CurrentActor, demand_id: RecordId, data: FormData):
    service.do_mark_match(db, actor, demand_id, data)
    return RedirectResponse(f"/matching/demands/{demand_id}", status_code=303)


# --------------------------------------------------------------------------- achievements


@router.get("/matching/achievements", dependencies=[allow(EVERYONE)])
def achievement_list(request: Request, db: DB, actor: CurrentActor, q: str = "",
                     field: str = ""):
    page = _page(request)
    explain: dict[int, Any] = {}
    if q.strip():
        hits = matcher_for(engine_of(db)).search("achievement", q, k=PER_PAGE)
        ids = [h.id for h in hits]
        explain = {h.id: h for h in hits}
        found = repo.achievements_by_ids(db, actor, field or None, ids)
        rows = [found[i] for i in ids if i in found]
        total = len(rows)
    else:
        total, rows = repo.achievement_page(db, actor, field or None, page, PER_PAGE)
    return render(request, "matching/achievements.html", {
        "rows": rows, "q": q, "field": field, "page": page, "total": total,
        "explain": explain, "pages": max(1, -(-total // PER_PAGE)), **_labels()})


@router.get("/matching/achievements/new", dependencies=[allow(ACH_EDITORS)])
def achievement_new(request: Request):
    return render(request, "matching/achievement_form.html", _labels())


@router.post("/matching/achievements", dependencies=[allow(ACH_EDITORS)])
def achievement_create(db: DB, actor: CurrentActor, data: FormData):
    item = service.do_create_achievement(db, actor, data)
    return RedirectResponse(f"/matching/achievements/{item.id}", status_code=303)


@router.get("/matching/achievements/{achievement_id}", dependencies=[allow(EVERYONE)])
def achievement_detail(request: Request, db: DB, actor: CurrentActor, achievement_id: RecordId):
    item = repo.get_achievement(db, actor, achievement_id)
    owner = (repo.get_institute(db, item.institute_id) if item.institute_id
             else repo.get_enterprise(db, item.enterprise_id))
    can_manage = repo.can_manage_achievement(db, actor, achievement_id)
    return render(request, "matching/achievement.html", {
        "a": item, "owner": owner, "can_manage": can_manage, **_labels()})


@router.post("/matching/achievements/{achievement_id}/visibility",
             dependencies=[allow(ACH_EDITORS)])
def achievement_visibility(db: DB, actor: CurrentActor, achievement_id: RecordId,
                           visibility: Annotated[str, Form()] = ""):
    service.do_set_achievement_visibility(db, actor, achievement_id, visibility)
    return RedirectResponse(f"/matching/achievements/{achievement_id}", status_code=303)


@router.get("/matching/achievements/{achievement_id}/matches",
            dependencies=[allow(ACH_EDITORS)])
def achievement_matches(request: Request, db: DB, actor: CurrentActor, achievement_id: RecordId):
    result = workflow.for_achievement(db, actor, achievement_id)
    steps = [(f"/matching/demands?{urlencode({'q': result.title})}", "matching.weak.demands")]
    return render(request, "matching/_achievement_matches.html",
                  {"m": result, **_labels(), **_weak_context(steps)})


def _weak_context(next_steps: list[tuple[str, str]]) -> dict[str, Any]:
    """What ``_weak.html`` shows when no candidate is strong: the calibrated threshold and
    the next steps open to this user."""
    return {"threshold": confidence.rule().strong_coverage, "next_steps": next_steps}


def _demand_next_steps(actor: Actor, title: str) -> list[tuple[str, str]]:
    """Widen the search, ask a commissioner, publish the demand as a challenge: an
    enterprise proposes it from its own page, the bureau publishes it from the programs."""
    return [(f"/matching/achievements?{urlencode({'q': title})}", "matching.weak.widen"),
            ("/matching/services", "matching.weak.commissioner"),
            ("/programs/mine" if actor.role == "enterprise" else "/programs",
             "matching.weak.challenge")]


# --------------------------------------------------------------------------- imports


@router.get("/matching/imports", dependencies=[allow(IMPORTERS)])
def import_form(request: Request, actor: CurrentActor):
    kinds = {k: v for k, v in imports.KINDS.items() if actor.role in v.roles}
    return render(request, "matching/imports.html", {"kinds": kinds, **_labels()})


@router.post("/matching/imports", dependencies=[allow(IMPORTERS)])
def import_file(request: Request, db: DB, actor: CurrentActor,
                kind: Annotated[str, Form()] = "",
                file: Annotated[UploadFile | None, File()] = None):
    # a plain def: the import does synchronous database work, so it runs in the thread
    # pool, never on the event loop (tests/security/test_event_loop.py)
    kinds = {k: v for k, v in imports.KINDS.items() if actor.role in v.roles}
    if file is None or not file.filename:
        raise InvalidInput("请选择要导入的文件", "Choose a file to import")
    data = file.file.read()
    try:
        n = imports.do_import(db, actor, kind, data, file.filename)
    except imports.ImportRejected as exc:
        db.rollback()  # all or nothing: drop whatever the rejected rows wrote
        return render(request, "matching/imports.html", {
            "kinds": kinds, "problems": exc.problems, **_labels()}, status_code=422)
    return render(request, "matching/imports.html", {"kinds": kinds, "done": n, **_labels()})


# --------------------------------------------------------------------------- cooperations


@router.get("/matching/cooperations", dependencies=[allow(COOP_READERS)])
def cooperation_list(request: Request, db: DB, actor: CurrentActor):
    return render(request, "matching/cooperations.html", {
        "rows": service.cooperations(db, actor),
        "can_flag": actor.is_bureau or actor.role == "enterprise", **_labels()})


@router.post("/matching/cooperations/{cooperation_id}/next-step",
             dependencies=[allow(BUREAU | {"enterprise"})])
def cooperation_next_step(db: DB, actor: CurrentActor, cooperation_id: RecordId,
                          step: Annotated[str, Form()] = "",
                          ref: Annotated[str, Form()] = ""):
    service.do_set_next_step(db, actor, cooperation_id, step, ref)
    return RedirectResponse("/matching/cooperations", status_code=303)


# --------------------------------------------------------------------------- experts


@router.get("/matching/experts", dependencies=[allow(LOGGED_IN)])
def expert_list(request: Request, db: DB, actor: CurrentActor):
    rows = repo.experts_with_profiles(db, 500)
    visible = [(e, p, n) for e, p, n in rows
               if p is None or p.visibility == "public" or actor.is_bureau
               or (actor.role == "institute" and e.institute_id == actor.institute_id)
               or actor.expert_id == e.id]
    return render(request, "matching/experts.html", {"rows": visible, **_labels()})


@router.post("/matching/experts/{expert_id}/profile", dependencies=[allow(PROFILE_EDITORS)])
def expert_profile(db: DB, actor: CurrentActor, expert_id: RecordId, data: FormData):
    service.do_save_expert_profile(db, actor, expert_id, data)
    return RedirectResponse("/matching/experts", status_code=303)


# --------------------------------------------------------------------------- talent


def _talent_context(db: Session, actor: Actor) -> dict[str, Any]:
    positions = repo.open_positions(db, 300)
    return {"positions": positions, "entries": service.talent_entries(db, actor)}


@router.get("/matching/talent", dependencies=[allow(EVERYONE)])
def talent(request: Request, db: DB, actor: CurrentActor):
    return render(request, "matching/talent.html", {**_talent_context(db, actor), **_labels()})


@router.post("/matching/talent/positions", dependencies=[allow(DEMAND_EDITORS)])
def talent_position(db: DB, actor: CurrentActor, data: FormData):
    service.do_create_position(db, actor, data)
    return RedirectResponse("/matching/talent", status_code=303)


@router.post("/matching/talent/entries", dependencies=[allow(BUREAU)])
def talent_entry(db: DB, actor: CurrentActor, data: FormData):
    service.do_create_talent_entry(db, actor, data)
    return RedirectResponse("/matching/talent", status_code=303)


@router.post("/matching/talent/applications", dependencies=[allow(BUREAU)])
def talent_apply(db: DB, actor: CurrentActor,
                 entry_id: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
                 position_id: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0):
    service.do_apply(db, actor, entry_id, position_id)
    return RedirectResponse("/matching/talent", status_code=303)


# --------------------------------------------------------------------------- services


@router.get("/matching/services", dependencies=[allow(DEMAND_EDITORS)])
def services(request: Request, db: DB, actor: CurrentActor):
    coms, requests_, logs = repo.services_overview(db, actor, 300)
    return render(request, "matching/services.html", {
        "commissioners": coms, "requests": requests_, "logs": logs, **_labels()})


@router.post("/matching/services/requests", dependencies=[allow(DEMAND_EDITORS)])
def service_request(db: DB, actor: CurrentActor, data: FormData):
    service.do_create_service_request(db, actor, data)
    return RedirectResponse("/matching/services", status_code=303)


@router.post("/matching/commissioners", dependencies=[allow(BUREAU)])
def commissioner_create(db: DB, actor: CurrentActor, data: FormData):
    service.do_create_commissioner(db, actor, data)
    return RedirectResponse("/matching/services", status_code=303)


@router.post("/matching/services/logs", dependencies=[allow(BUREAU)])
def service_log(db: DB, actor: CurrentActor, data: FormData):
    service.do_create_service_log(db, actor, data)
    return RedirectResponse("/matching/services", status_code=303)


# --------------------------------------------------------------------------- synonyms, index


@router.get("/matching/synonyms", dependencies=[allow(BUREAU)])
def synonyms(request: Request, db: DB, rebuilt: str = ""):
    local = repo.local_synonyms(db)
    counts = None
    if rebuilt:
        try:
            counts = [int(x) for x in rebuilt.split(",")][:3]
        except ValueError:
            counts = None
    return render(request, "matching/synonyms.html", {
        "shipped": Synonyms.load().groups, "local": local, "rebuilt": counts, **_labels()})


@router.post("/matching/synonyms", dependencies=[allow(BUREAU)])
def synonyms_add(db: DB, actor: CurrentActor, line: Annotated[str, Form()] = ""):
    service.do_add_synonyms(db, actor, line)
    return RedirectResponse("/matching/synonyms", status_code=303)


@router.post("/matching/synonyms/{entry_id}/delete", dependencies=[allow(BUREAU)])
def synonyms_delete(db: DB, actor: CurrentActor, entry_id: RecordId):
    service.do_delete_synonyms(db, actor, entry_id)
    return RedirectResponse("/matching/synonyms", status_code=303)


@router.post("/matching/index/rebuild", dependencies=[allow(BUREAU)])
def index_rebuild(db: DB, actor: CurrentActor):
    job = submit(db, actor, KIND, {})
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
