"""Pages of the lists: the public 积分榜 (no login, published runs only, veto applied), the
bureau's preview and publishing, payment lists of reward schemes, and the yearly statistics.

Static paths (``/lists/manage``, ``/lists/stats``, ``/lists/published/…``) are declared
before ``/lists/{run_id}`` so they are never read as a run id.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.lists import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.lists import repository as repo
from kechuang.lists import service, stats
from kechuang.lists.schemes import LoadedScheme, parse_scheme, shipped_scheme, shipped_schemes
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, EVERYONE, CurrentActor, OptYear, RowId, allow
from kechuang.web.render import render

router = APIRouter(include_in_schema=False)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADMIN = frozenset({"bureau_admin"})
MAX_SCHEME_BYTES = 256 * 1024

nav.register("/lists", "lists.nav", EVERYONE, 60, "assess")
nav.register("/lists/manage", "lists.nav_manage", BUREAU, 61, "assess")
nav.register("/lists/stats", "lists.nav_stats", BUREAU, 62, "assess")


def _xlsx(body: bytes, filename: str) -> Response:
    return Response(body, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _run_label(run: object) -> str:
    r = run  # a ScoringRun
    return f"{r.year} · {r.system_name} {r.system_version} · #{r.id}"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- public
@router.get("/lists", dependencies=[allow(EVERYONE)])
def public_lists(request: Request, db: DB, actor: CurrentActor, run: int | None = None):
    published = repo.published_runs(db)
    current_ids = {r.id for r in repo.current_runs(db)}
    chosen = None
    if run is not None:
        chosen = next((r for r in published if r.id == run), None)
        if chosen is None:
            raise_not_published(run)
    elif published:
        chosen = next((r for r in published if r.id in current_ids), published[0])
    view = service.list_view(db, actor, chosen, public=True) if chosen is not None else None
    summary = None
    if chosen is not None:
        try:
            summary = stats.yearly_stats(db, None, chosen.system_id, year=chosen.year,
                                         region_code=chosen.region_code)
        except NotFound:  # no series in that scope: the page shows the lists only
            summary = None
    return render(request, "lists/public.html", {
        "view": view, "published": published, "current_ids": current_ids,
        "summary": summary, "tier_name": service.tier_name, "run_label": _run_label,
        "region_names": _region_names(db, [r.region_code for r in published]),
    })


def raise_not_published(run_id: RowId) -> None:
    raise NotFound(f"榜单 {run_id} 不存在或未发布", f"List {run_id} not found or unpublished")


def _region_names(db: DB, codes: list[str | None]) -> dict[str | None, str]:
    names: dict[str | None, str] = {None: ""}
    names.update(service.region_names(db, {c for c in codes if c}))
    return names


@router.get("/lists/published/{run_id}.xlsx", dependencies=[allow(EVERYONE)])
def public_export(db: DB, actor: CurrentActor, run_id: RowId) -> Response:
    run = service.find_run(db, run_id)
    if run is None or not run.published:
        raise_not_published(run_id)
    assert run is not None
    view = service.list_view(db, actor, run, public=True)
    return _xlsx(service.list_xlsx(view, include_uscc=False),
                 f"innovation-list-{run.system_id}-{run.year}-{run.id}.xlsx")


# --------------------------------------------------------------------------- bureau
@router.get("/lists/manage", dependencies=[allow(BUREAU)])
def manage(request: Request, db: DB, actor: CurrentActor, done: str | None = None,
           run: int | None = None):
    runs = repo.bureau_runs(db, actor)
    current_ids = {r.id for r in repo.current_runs(db)}
    return render(request, "lists/manage.html", {
        "runs": runs, "current_ids": current_ids, "done": done, "done_run": run,
        "owned": {r.id for r in runs if repo.run_owned(db, actor, r)},
        "region_names": _region_names(db, [r.region_code for r in runs]),
        "publishers": ([] if actor.role == "bureau_admin"
                       else service.publishers(db, actor.region_code)),
    })


@router.get("/lists/stats", dependencies=[allow(BUREAU)])
def stats_page(request: Request, db: DB, actor: CurrentActor, system: str | None = None,
               year: OptYear = None, unpublished: bool = False):
    systems = repo.systems_with_runs(db, published_only=False)
    system_id = system or (systems[0][0] if systems else None)
    report = None
    if system_id is not None:
        try:
            report = stats.yearly_stats(db, actor, system_id, year=year,
                                        published_only=not unpublished)
        except NotFound:  # no (published) run of the system in the bureau's scope
            report = None
    return render(request, "lists/stats.html", {
        "systems": systems, "system_id": system_id, "year": year, "unpublished": unpublished,
        "report": report,
        "chart_json": json.dumps(stats.chart_data(report), ensure_ascii=False)
        if report else None,
    })


@router.get("/lists/{run_id}", dependencies=[allow(BUREAU)])
def preview(request: Request, db: DB, actor: CurrentActor, run_id: RowId):
    run = repo.visible_run(db, actor, run_id)
    view = service.list_view(db, actor, run, public=False)
    return render(request, "lists/preview.html", {
        "view": view, "tier_name": service.tier_name,
        "can_publish": actor.role == "bureau_admin" and repo.run_owned(db, actor, run),
        "region_names": _region_names(db, [run.region_code]),
        "publishers": ([] if actor.role == "bureau_admin"
                       else service.publishers(db, run.region_code)),
        "unpublished_analysis": service.unpublished_analysis(db, run),
    })


@router.get("/lists/{run_id}/export.xlsx", dependencies=[allow(BUREAU)])
def bureau_export(db: DB, actor: CurrentActor, run_id: RowId) -> Response:
    run = repo.visible_run(db, actor, run_id)
    view = service.list_view(db, actor, run, public=False)
    return _xlsx(service.list_xlsx(view, include_uscc=True),
                 f"innovation-list-{run.system_id}-{run.year}-{run.id}-bureau.xlsx")


@router.post("/lists/{run_id}/publish", dependencies=[allow(ADMIN)])
def publish(db: DB, actor: CurrentActor, run_id: RowId) -> Response:
    service.do_publish_run(db, actor, run_id)
    return RedirectResponse(f"/lists/manage?done=published&run={run_id}", status_code=303)


@router.post("/lists/{run_id}/withdraw", dependencies=[allow(ADMIN)])
def withdraw(db: DB, actor: CurrentActor, run_id: RowId) -> Response:
    service.do_withdraw_run(db, actor, run_id)
    return RedirectResponse(f"/lists/manage?done=withdrawn&run={run_id}", status_code=303)


# --------------------------------------------------------------------------- dividends
def _dividends_page(request: Request, db: DB, actor: CurrentActor, run_id: RowId,
                    loaded: LoadedScheme | None, error: str | None = None) -> Response:
    run = repo.visible_run(db, actor, run_id)
    plist = service.payment_list(db, actor, run_id, loaded) if loaded is not None else None
    ctx = {"run": run, "plist": plist, "schemes": shipped_schemes(), "error": error,
           "scheme_id": loaded.id if loaded else None, "tier_name": service.tier_name,
           "uploaded": loaded is not None and loaded.source.startswith("upload:")}
    is_htmx = request.headers.get("hx-request") == "true"
    name = "lists/_payments.html" if is_htmx else "lists/dividends.html"
    return render(request, name, ctx)


@router.get("/lists/{run_id}/dividends", dependencies=[allow(BUREAU)])
def dividends(request: Request, db: DB, actor: CurrentActor, run_id: RowId,
              scheme: str | None = None) -> Response:
    loaded = shipped_scheme(scheme) if scheme else None
    return _dividends_page(request, db, actor, run_id, loaded)


def _read_upload(upload: UploadFile) -> LoadedScheme:
    raw = upload.file.read(MAX_SCHEME_BYTES + 1)
    if len(raw) > MAX_SCHEME_BYTES:
        raise InvalidInput("方案文件过大（上限 256 KB）", "Scheme file too large (256 KB)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("方案文件应为 UTF-8 编码的 YAML", "Scheme must be UTF-8 YAML") from exc
    return parse_scheme(text, f"upload:{upload.filename or 'scheme.yaml'}")


@router.post("/lists/{run_id}/dividends", dependencies=[allow(BUREAU)])
def dividends_upload(request: Request, db: DB, actor: CurrentActor, run_id: RowId,
                     file: Annotated[UploadFile, File()]) -> Response:
    # a plain def: the page reads the database, so it runs in the thread pool
    loaded = _read_upload(file)
    return _dividends_page(request, db, actor, run_id, loaded)


@router.get("/lists/{run_id}/dividends.xlsx", dependencies=[allow(BUREAU)])
def dividends_export(db: DB, actor: CurrentActor, run_id: RowId, scheme: str) -> Response:
    plist = service.payment_list(db, actor, run_id, shipped_scheme(scheme))
    body = service.do_export_payments(db, actor, plist)
    return _xlsx(body, f"payments-{plist.run.id}-{plist.scheme.id}.xlsx")


@router.post("/lists/{run_id}/dividends.xlsx", dependencies=[allow(BUREAU)])
def dividends_export_uploaded(db: DB, actor: CurrentActor, run_id: RowId,
                              scheme_text: Annotated[str, Form()],
                              scheme_name: Annotated[str, Form()] = "scheme.yaml") -> Response:
    """The export of an uploaded scheme: the page carries the scheme's text in a hidden
    field, so the file is computed again from run + text (nothing stored)."""
    loaded = parse_scheme(scheme_text, scheme_name if scheme_name.startswith("upload:")
                          else f"upload:{scheme_name}")
    plist = service.payment_list(db, actor, run_id, loaded)
    body = service.do_export_payments(db, actor, plist)
    return _xlsx(body, f"payments-{plist.run.id}-{plist.scheme.id}.xlsx")
