"""Pages of the intake: batches, upload, result with the problem report, rollback, templates.

Bureau roles work in their region subtree; a department account sees its own uploads and
its own department's templates only. Only a bureau administrator edits templates.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

import kechuang.ingest.i18n  # noqa: F401  (registers the UI strings)
from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.ingest import service as ingest_service
from kechuang.ingest.schemas import TemplateError
from kechuang.ingest.service import (
    do_import,
    do_rollback_batch,
    do_submit_upload,
    list_batches,
    report_xlsx,
    visible_batch,
    visible_import_job,
    visible_report,
)
from kechuang.ingest.template_files import template_csv, template_xlsx
from kechuang.ingest.template_store import TemplateEntry, do_save_template, templates_for
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.registry.catalogue import departments_by_code, metrics_by_code
from kechuang.web.deps import DB, CurrentActor, RowId, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

IMPORTERS = frozenset({"bureau_admin", "bureau_staff", "department"})
SHOWN_PROBLEMS = 500
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_upload(file: UploadFile) -> bytes:
    """The uploaded bytes, refusing more than ``import_max_bytes`` without reading it all."""
    limit = get_settings().import_max_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"文件“{file.filename}”过大：超过上限 {limit:,} 字节",
                           f"{file.filename} is larger than {limit:,} bytes")
    return data


def _template_entry(db: DB, actor: Actor, name: str) -> TemplateEntry:
    entry = templates_for(db, actor).get(name)
    if entry is None:
        raise NotFound(f"导入模板“{name}”不存在或不属于本部门", f"Template {name} not found")
    return entry


@router.get("/imports", dependencies=[allow(IMPORTERS)])
def batches_page(request: Request, db: DB, actor: CurrentActor) -> Response:
    return render(request, "ingest/batches.html", {"batches": list_batches(db, actor)})


@router.get("/imports/new", dependencies=[allow(IMPORTERS)])
def upload_form(request: Request, db: DB, actor: CurrentActor,
                template: str | None = None) -> Response:
    return render(request, "ingest/new.html",
                  {"templates": templates_for(db, actor), "selected": template})


@router.post("/imports", dependencies=[allow(IMPORTERS)])
def upload(
    request: Request,
    db: DB,
    actor: CurrentActor,
    file: Annotated[UploadFile, File()],
    template: Annotated[str, Form(max_length=64)],
    dry_run: Annotated[bool, Form()] = False,
    valid_rows_only: Annotated[bool, Form()] = False,
    as_job: Annotated[bool, Form()] = False,
) -> Response:
    entry = _template_entry(db, actor, template)
    data = read_upload(file)
    if as_job and not dry_run:  # the upload form: a job the page follows (issue 11, item 6)
        job_id = do_submit_upload(db, actor, data, file.filename or "upload", entry,
                                  valid_rows_only=valid_rows_only)
        return RedirectResponse(f"/imports/jobs/{job_id}", status_code=303)
    # the request owns the transaction; a long import on SQLite commits in short steps
    result = do_import(db, actor, data, file.filename or "upload", entry, dry_run=dry_run,
                       valid_rows_only=valid_rows_only, checkpoint=db.commit)
    return render(request, "ingest/result.html",
                  {"result": result, "template": entry.template, "shown": SHOWN_PROBLEMS},
                  status_code=200 if result.ok else 422)


def _job_context(db: DB, actor: Actor, job_id: int) -> dict[str, Any]:
    job = visible_import_job(db, actor, job_id)
    return {"job": job, "finished": job.status in ("done", "failed"),
            "result": ingest_service.result_of_job(job),
            "summary": (job.result or {}).get("summary", []), "shown": SHOWN_PROBLEMS}


@router.get("/imports/jobs/{job_id}", dependencies=[allow(IMPORTERS)])
def import_job_page(request: Request, db: DB, job_id: RowId, actor: CurrentActor) -> Response:
    return render(request, "ingest/job.html", _job_context(db, actor, job_id))


@router.get("/imports/jobs/{job_id}/progress", dependencies=[allow(IMPORTERS)])
def import_job_progress(request: Request, db: DB, job_id: RowId, actor: CurrentActor
                        ) -> Response:
    return render(request, "ingest/_job.html", _job_context(db, actor, job_id))


@router.get("/imports/{batch_id}", dependencies=[allow(IMPORTERS)])
def batch_page(request: Request, db: DB, batch_id: RowId, actor: CurrentActor) -> Response:
    return _batch_page(request, db, actor, batch_id, None)


def _batch_page(request: Request, db: DB, actor: Actor, batch_id: int,
                rolled: dict[str, int] | None) -> Response:
    batch = visible_batch(db, actor, batch_id)
    sample: list[Any] = ingest_service.batch_sample(db, actor, batch.id)
    report_id = ingest_service.report_id_of_batch(db, batch.id)
    return render(request, "ingest/batch.html",
                  {"batch": batch, "sample": sample, "report_id": report_id, "rolled": rolled})


@router.post("/imports/{batch_id}/rollback", dependencies=[allow(IMPORTERS)])
def rollback(request: Request, db: DB, batch_id: RowId, actor: CurrentActor
             ) -> Response:
    summary = do_rollback_batch(db, actor, batch_id)
    return _batch_page(request, db, actor, batch_id, summary)


@router.get("/import-reports/{report_id}.xlsx", dependencies=[allow(IMPORTERS)])
def report_download(db: DB, report_id: RowId, actor: CurrentActor) -> Response:
    report = visible_report(db, actor, report_id)
    body = report_xlsx(report.problems)
    filename = f"import-problems-{report.id}.xlsx"
    return Response(body, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/import-templates", dependencies=[allow(IMPORTERS)])
def templates_page(request: Request, db: DB, actor: CurrentActor) -> Response:
    return render(request, "ingest/templates.html", {"templates": templates_for(db, actor),
                                                      "departments": departments_by_code()})


@router.get("/import-templates/{name}.xlsx", dependencies=[allow(IMPORTERS)])
def template_xlsx_download(request: Request, db: DB, name: str, actor: CurrentActor
                           ) -> Response:
    """The blank template: header, one example row, dropdowns for codes, a notes sheet."""
    entry = _template_entry(db, actor, name)
    body = template_xlsx(entry.template, metrics_by_code(), locale_of(request))
    return Response(body, media_type=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="template-{entry.name}.xlsx"'})


@router.get("/import-templates/{name}.csv", dependencies=[allow(IMPORTERS)])
def template_csv_download(db: DB, name: str, actor: CurrentActor) -> Response:
    entry = _template_entry(db, actor, name)
    body = template_csv(entry.template, metrics_by_code())
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="template-{entry.name}.csv"'})


@router.get("/import-templates/{name}", dependencies=[allow(IMPORTERS)])
def template_page(request: Request, db: DB, name: str, actor: CurrentActor
                  ) -> Response:
    entry = _template_entry(db, actor, name)
    return render(request, "ingest/template.html",
                  {"entry": entry, "yaml_text": entry.yaml_text, "errors": None, "saved": None,
                   "departments": departments_by_code()})


@router.post("/import-templates/{name}", dependencies=[allow("bureau_admin")])
def template_save(request: Request, db: DB, name: str,
                  yaml_text: Annotated[str, Form(alias="yaml", max_length=200_000)],
                  actor: CurrentActor) -> Response:
    entry = _template_entry(db, actor, name)
    try:
        row = do_save_template(db, actor, name, yaml_text)
    except TemplateError as exc:
        return render(request, "ingest/template.html",
                      {"entry": entry, "yaml_text": yaml_text, "errors": exc.problems,
                       "saved": None, "departments": departments_by_code()}, status_code=422)
    entry = _template_entry(db, actor, name)
    return render(request, "ingest/template.html",
                  {"entry": entry, "yaml_text": entry.yaml_text, "errors": None,
                   "saved": row.version, "departments": departments_by_code()})
