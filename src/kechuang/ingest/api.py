"""JSON API of the intake (mounted under ``/api/v1``): batches and uploads.

The same roles and scope as the pages: bureau roles in their region subtree, departments
their own uploads and their own department's templates.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse

from kechuang.config import get_settings
from kechuang.ingest.schemas import BatchOut, ImportJobOut, ImportResultOut
from kechuang.ingest.service import do_import, do_submit_upload, list_batches, visible_batch
from kechuang.ingest.views import IMPORTERS, _template_entry, read_upload
from kechuang.web.deps import DB, CurrentActor, RowId, allow

router = APIRouter(tags=["imports"])


@router.get("/imports", dependencies=[allow(IMPORTERS)], response_model=list[BatchOut])
def api_batches(db: DB, actor: CurrentActor,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0) -> list[BatchOut]:
    rows = list_batches(db, actor, limit=limit, offset=offset)
    return [BatchOut.model_validate(b) for b in rows]


@router.get("/imports/{batch_id}", dependencies=[allow(IMPORTERS)], response_model=BatchOut)
def api_batch(db: DB, actor: CurrentActor, batch_id: RowId
              ) -> BatchOut:
    return BatchOut.model_validate(visible_batch(db, actor, batch_id))


@router.post("/imports", dependencies=[allow(IMPORTERS)], response_model=ImportResultOut,
             responses={422: {"model": ImportResultOut,
                              "description": "The file has problems; nothing was imported"},
                        202: {"model": ImportJobOut,
                              "description": "With as_job: queued; follow status_url"}})
def api_import(
    db: DB,
    actor: CurrentActor,
    file: Annotated[UploadFile, File()],
    template: Annotated[str, Form(max_length=64)],
    dry_run: Annotated[bool, Form()] = False,
    valid_rows_only: Annotated[bool, Form()] = False,
    as_job: Annotated[bool, Form()] = False,
) -> Any:
    """Import (or dry-run) one file; the body is the result with at most
    ``problem_report_cap`` problems — the full report is downloadable at ``report_url``.
    With ``as_job`` the import runs as a job: 202 with the job id, and ``Location`` /
    ``status_url`` (``GET /api/v1/jobs/{id}``) to follow until it is done."""
    entry = _template_entry(db, actor, template)
    if as_job:
        job_id = do_submit_upload(db, actor, read_upload(file), file.filename or "upload",
                                  entry, dry_run=dry_run, valid_rows_only=valid_rows_only)
        out = ImportJobOut(job_id=job_id, status_url=f"/api/v1/jobs/{job_id}",
                           page_url=f"/imports/jobs/{job_id}")
        return JSONResponse(out.model_dump(), status_code=202,
                            headers={"Location": out.status_url})
    # the request owns the transaction; a long import on SQLite commits in short steps
    result = do_import(db, actor, read_upload(file), file.filename or "upload", entry,
                       dry_run=dry_run, valid_rows_only=valid_rows_only, checkpoint=db.commit)
    body = result.as_dict()
    cap = get_settings().problem_report_cap
    body["problems_truncated"] = len(body["problems"]) > cap
    body["problems"] = body["problems"][:cap]
    body["report_url"] = (f"/import-reports/{result.report_id}.xlsx"
                          if result.report_id is not None else None)
    return JSONResponse(body, status_code=200 if result.ok else 422)
