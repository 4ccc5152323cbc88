"""The import and rollback of departmental files (``do_import``, ``do_rollback_batch``).

Both run inside the caller's transaction and never commit: an import is all-or-nothing per
file (and therefore safe against ``kill -9``: an uncommitted transaction leaves nothing),
idempotent by content hash, and keeps history — a corrected file supersedes old values,
and a rollback restores them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.db import begin_immediate, is_sqlite
from kechuang.ingest import loading
from kechuang.ingest import repository as repo
from kechuang.ingest.attributes import refresh_derived
from kechuang.ingest.readers import FileRefused, header_only, read_file
from kechuang.ingest.schemas import ChangedValue, ImportResult, ImportTemplate, Problem
from kechuang.ingest.template_store import TemplateEntry, get_template
from kechuang.ingest.validation import Context, Plan, Validator
from kechuang.kit import audit, events
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.xlsx import write_xlsx
from kechuang.models import ImportBatch, ImportReport, ImportUpload, Job, utcnow

Progress = Callable[[str, int, int], None]
#: rows kept in a stored problem report (the count is always complete)
REPORT_CAP = 50_000
#: changed values listed in a dry run's result (the count is always complete)
CHANGES_CAP = 1000
IMPORT_ROLES = frozenset({"bureau_admin", "bureau_staff", "department"})
REPORT_HEADER = ["工作表 Sheet", "行 Row", "列 Column", "值 Value", "原因 Reason"]


def _noop(stage: str, done: int, total: int) -> None:
    return None


def resolve_template(session: Session, template: str | ImportTemplate | TemplateEntry
                     ) -> ImportTemplate:
    if isinstance(template, ImportTemplate):
        return template
    if isinstance(template, TemplateEntry):
        return template.template
    return get_template(session, template).template


def check_may_import(actor: Actor, template: ImportTemplate) -> None:
    if actor.role not in IMPORT_ROLES:
        raise Forbidden("您的角色不能导入数据", "Your role may not import data")
    if actor.role == "department" and template.department != actor.department_code:
        raise Forbidden(f"部门账号只能使用本部门的模板；模板“{template.name}”属于"
                        f"{template.department_name}",
                        f"Template {template.name} belongs to another department")


def _already_imported(session: Session, digest: str, template: str) -> ImportBatch | None:
    return repo.committed_batch(session, digest, template)


def _save_report(session: Session, actor: Actor, result: ImportResult, template: ImportTemplate,
                 batch_id: int | None) -> int:
    report = ImportReport(
        template=template.name, department_code=template.department,
        filename=result.filename[:255], content_hash=result.content_hash, batch_id=batch_id,
        problem_count=len(result.problems),
        problems=[p.as_row() for p in result.problems[:REPORT_CAP]],
        region_code=actor.region_code, created_by=actor.user_id)
    repo.add_and_flush(session, report)
    return report.id


def do_import(
    session: Session,
    actor: Actor,
    file_bytes: bytes,
    filename: str,
    template: str | ImportTemplate | TemplateEntry,
    dry_run: bool = False,
    valid_rows_only: bool = False,
    progress: Progress | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ImportResult:
    """Validate and (unless ``dry_run``) import one file.

    Any problem → nothing written (``ok`` false, the problems and a stored report id), unless
    ``valid_rows_only``: then rows with a problem are skipped and the rest imported.

    ``checkpoint`` (the caller's commit: a command or job) lets a long import on SQLite
    write in short transactions (:mod:`kechuang.ingest.loading`); without it the import is
    one transaction. Either way a dead import's batch is undone or finished by the next.
    """
    progress = progress or _noop
    settings = get_settings()
    tpl = resolve_template(session, template)
    check_may_import(actor, tpl)
    digest = hashlib.sha256(file_bytes).hexdigest()
    result = ImportResult(ok=False, filename=filename, template=tpl.name, dry_run=dry_run,
                          valid_rows_only=valid_rows_only, content_hash=digest)

    previous = _already_imported(session, digest, tpl.name)
    if previous is not None:
        return _duplicate(session, actor, result, previous, tpl)

    progress("读取文件", 0, 1)
    regions = repo.region_codes(session)
    ctx = Context(
        metric_ids=repo.metric_ids(session), regions=regions,
        scope_regions=repo.scope_region_codes(session, actor),
        lookup=lambda codes: repo.lookup_enterprises(session, codes),
        scaled_ints=is_sqlite(session))
    validator = Validator(tpl, ctx)
    try:
        workbook = read_file(
            file_bytes, filename, validator.is_header, max_bytes=settings.import_max_bytes,
            max_rows=settings.import_max_rows, max_unzipped=settings.import_max_unzipped_bytes,
            max_ratio=settings.import_max_zip_ratio)
        if not any(sheet.rows for sheet in workbook.sheets):
            raise header_only(filename)
    except FileRefused as exc:
        result.problems = [Problem(sheet="", row=None, column="", letter="", value=filename,
                                   reason=exc.message_zh)]
        return _fail(session, actor, result, tpl, exc.message_zh)
    result.notes.extend(workbook.notes)
    progress("校验", 0, sum(len(s.rows) for s in workbook.sheets))
    plan = validator.run(workbook)
    result.problems = plan.problems
    result.problem_count = len(plan.problems)
    result.rows_total = plan.rows_total
    result.rows_skipped = plan.rows_skipped
    if plan.problems and (not valid_rows_only or plan.rows_ok == 0):
        why = (f"发现 {len(plan.problems):,} 个问题，未导入任何数据" if not valid_rows_only
               else f"发现 {len(plan.problems):,} 个问题，没有可导入的有效行")
        return _fail(session, actor, result, tpl, why)

    progress("写入", 0, len(plan.facts))
    batch: ImportBatch | None = None
    ids: dict[str, int] = {code: v[0] for code, v in plan.known.items()}
    chunked = (not dry_run and checkpoint is not None and is_sqlite(session)
               and len(plan.facts) > settings.import_chunk_facts)
    if dry_run:
        for n, code in enumerate(plan.new_enterprises, start=1):
            ids[code] = -n
    else:
        loading.recover_dead(session, actor, checkpoint)
        batch = ImportBatch(
            template=tpl.name, department_code=tpl.department, filename=filename[:255],
            content_hash=digest, layout=tpl.layout, valid_rows_only=valid_rows_only,
            status="loading" if chunked else "committed", region_code=actor.region_code,
            created_by=actor.user_id, periods=sorted({int(f[2]) for f in plan.facts}),
            loader=loading.loader_id() if chunked else None,
            heartbeat_at=utcnow() if chunked else None)
        if not repo.add_batch_once(session, batch):  # the same file, committed meanwhile
            previous = (_already_imported(session, digest, tpl.name)
                        or repo.in_progress_batch(session, digest, tpl.name))
            assert previous is not None
            return _duplicate(session, actor, result, previous, tpl)
        if plan.new_enterprises:
            ids.update(repo.insert_enterprises(session, [
                {**e, "founded_on": date.fromisoformat(e["founded_on"]) if e["founded_on"]
                 else None, "created_batch_id": batch.id}
                for e in plan.new_enterprises.values()], batch.id))
    staged = [(ids[f[0]], f[1], f[2], f[3], f[4]) for f in plan.facts]
    result.enterprises_created = len(plan.new_enterprises)
    if chunked:
        assert batch is not None and checkpoint is not None
        checkpoint()  # the loading batch and its enterprises: visible as "importing"
        batch_id = batch.id
        try:
            counts = loading.write_pending(session, batch, staged, ctx.metric_ids,
                                           checkpoint, progress)
        except BaseException:
            session.rollback()
            unfinished = repo.batch_by_id(session, batch_id)
            if unfinished is not None and unfinished.status in ("loading", "publishing"):
                loading.finish_or_undo(session, actor, unfinished, checkpoint)
            raise
        begin_immediate(session)
        return _committed(session, actor, result, tpl, plan, batch, counts.new,
                          counts.changed, counts.unchanged, progress)
    repo.create_stage(session)
    repo.fill_stage(session, staged)
    progress("写入", len(staged) // 2, len(staged))
    new, changed, unchanged = repo.stage_counts(session)
    result.facts_new, result.facts_changed, result.facts_unchanged = new, changed, unchanged
    result.rows_imported = plan.rows_ok
    result.new_enterprises = [
        {k: str(v or "") for k, v in e.items()} for e in list(plan.new_enterprises.values())[:1000]]
    if dry_run:
        result.changes = [ChangedValue(**c) for c in repo.changed_values(session, CHANGES_CAP,
                                                                         actor)]
        # a dry run reads current values: the read is audited (issue 17)
        audit.record(session, actor, "import.dry_run_read", "import", filename[:64],
                     region_code=actor.region_code,
                     after={"template": tpl.name, "values_shown": sum(
                         1 for c in result.changes if c.old != repo.HIDDEN_VALUE),
                         "values_hidden": sum(1 for c in result.changes
                                              if c.old == repo.HIDDEN_VALUE)})
        repo.drop_stage(session)
        result.ok = True
        result.message = (f"试导入：将新建企业 {result.enterprises_created:,} 家，"
                          f"新增数据 {new:,} 项，"
                          f"修改 {changed:,} 项，不变 {unchanged:,} 项；未写入任何数据")
        if plan.problems:
            result.report_id = _save_report(session, actor, result, tpl, None)
        progress("完成", 1, 1)
        return result

    assert batch is not None
    repo.merge_stage(session, batch.id)
    refresh_derived(session, ctx.metric_ids)
    repo.drop_stage(session)
    return _committed(session, actor, result, tpl, plan, batch, new, changed, unchanged,
                      progress)


def _committed(session: Session, actor: Actor, result: ImportResult, tpl: ImportTemplate,
               plan: Plan, batch: ImportBatch, new: int, changed: int, unchanged: int,
               progress: Progress) -> ImportResult:
    """The batch's counts, problem report and audit row once its facts are current."""
    filename, digest = result.filename, result.content_hash
    result.facts_new, result.facts_changed, result.facts_unchanged = new, changed, unchanged
    result.rows_imported = plan.rows_ok
    result.new_enterprises = [
        {k: str(v or "") for k, v in e.items()} for e in list(plan.new_enterprises.values())[:1000]]
    if batch.region_code is None:
        # an import from the command line has no region of its own: the batch belongs to the
        # smallest region holding every enterprise it touched, so county accounts see it
        batch.region_code = repo.common_region_of_batch(session, batch.id)
    batch.status = "committed"
    batch.loader = None
    batch.rows_total = plan.rows_total
    batch.rows_imported = plan.rows_ok
    batch.facts_new, batch.facts_changed, batch.facts_unchanged = new, changed, unchanged
    batch.enterprises_created = len(plan.new_enterprises)
    batch.problems = len(plan.problems)
    if plan.problems:
        result.report_id = _save_report(session, actor, result, tpl, batch.id)
    result.batch_id = batch.id
    result.ok = True
    result.message = (f"已导入为批次 {batch.id}：新建企业 {batch.enterprises_created:,} 家，"
                      f"新增数据 {new:,} 项，修改 {changed:,} 项，不变 {unchanged:,} 项")
    if plan.problems:
        result.message += f"；跳过有问题的行 {plan.rows_skipped:,} 行"
    audit.record(session, actor, "import.commit", "import_batch", batch.id, after={
        "template": tpl.name, "filename": filename, "hash": digest,
        "valid_rows_only": result.valid_rows_only, "rows_total": plan.rows_total,
        "rows_imported": plan.rows_ok, "facts_new": new, "facts_changed": changed,
        "facts_unchanged": unchanged, "enterprises_created": batch.enterprises_created,
        "problems": len(plan.problems)}, region_code=batch.region_code)
    session.flush()
    progress("完成", 1, 1)
    return result


def _duplicate(session: Session, actor: Actor, result: ImportResult, previous: ImportBatch,
               tpl: ImportTemplate) -> ImportResult:
    """The same file (content and template) is already a committed batch: nothing written."""
    result.ok = True
    result.already_imported = True
    result.batch_id = previous.id
    result.problems, result.problem_count = [], 0
    result.message = (f"此文件已用模板“{tpl.name}”导入为批次 {previous.id}"
                      f"（{previous.filename}），本次未写入任何数据"
                      if previous.status == "committed" else
                      f"此文件正在以模板“{tpl.name}”导入为批次 {previous.id}"
                      f"（{previous.filename}），本次未写入任何数据；请稍后查看该批次")
    if not result.dry_run:
        audit.record(session, actor, "import.duplicate", "import_batch", previous.id,
                     after={"filename": result.filename, "hash": result.content_hash},
                     region_code=actor.region_code)
    return result


def _fail(session: Session, actor: Actor, result: ImportResult, tpl: ImportTemplate,
          message: str) -> ImportResult:
    result.ok = False
    result.problem_count = len(result.problems)
    result.message = message
    result.report_id = _save_report(session, actor, result, tpl, None)
    if not result.dry_run:
        audit.record(session, actor, "import.reject", "import_report", result.report_id, after={
            "template": tpl.name, "filename": result.filename, "hash": result.content_hash,
            "problems": len(result.problems)}, region_code=actor.region_code)
    return result


# --- imports as jobs (issue 11, item 6) ---------------------------------------------------

#: the job kind of an uploaded file (registered by ``kechuang.jobs.subscribers``)
JOB_KIND = "ingest.import"
#: problems (and changes, new enterprises) a job's result keeps for its page
JOB_SHOWN = 500


def do_submit_upload(session: Session, actor: Actor, data: bytes, filename: str,
                     template: TemplateEntry, dry_run: bool = False,
                     valid_rows_only: bool = False) -> int:
    """Keep an uploaded file and queue the job that imports it; returns the job's id.

    The job queue sits above the intake, so the intake announces the stored upload
    (``ingest.upload_stored``) and the jobs package queues the job and answers its id."""
    check_may_import(actor, template.template)
    upload = repo.add_upload(session, ImportUpload(
        filename=filename[:255], template=template.name, dry_run=dry_run,
        valid_rows_only=valid_rows_only, size=len(data), data=data,
        created_by=actor.user_id))
    audit.record(session, actor, "import.upload", "import_upload", upload.id, after={
        "template": template.name, "filename": filename[:255], "bytes": len(data),
        "dry_run": dry_run, "valid_rows_only": valid_rows_only},
        region_code=actor.region_code)
    out: dict[str, Any] = {}
    events.emit("ingest.upload_stored", session=session, actor=actor, upload_id=upload.id,
                out=out)
    if "job_id" not in out:
        raise InvalidInput("导入任务无法排队：任务队列未启用", "The job queue is not available")
    return int(out["job_id"])


def run_upload_job(session: Session, actor: Actor, params: dict[str, Any],
                   progress: Progress) -> dict[str, Any]:
    """The ``ingest.import`` job: import the stored upload ``params["upload_id"]`` as its
    submitter, then drop the stored bytes. The result is sentences for the job page."""
    upload = repo.get_upload(session, int(params["upload_id"]))
    if upload is None:
        raise NotFound("待导入的文件已不存在（任务已运行过？）",
                       "The uploaded file is gone (did the job run already?)")
    result = do_import(session, actor, upload.data, upload.filename, upload.template,
                       dry_run=upload.dry_run, valid_rows_only=upload.valid_rows_only,
                       progress=progress, checkpoint=session.commit)
    repo.delete_upload(session, upload.id)
    url = (f"/imports/{result.batch_id}" if result.batch_id is not None else
           f"/import-reports/{result.report_id}.xlsx" if result.report_id is not None
           else "/imports")
    body = result.as_dict()
    body["problems"] = body["problems"][:JOB_SHOWN]
    body["changes"] = body["changes"][:JOB_SHOWN]
    body["new_enterprises"] = body["new_enterprises"][:JOB_SHOWN]
    return {**body, "url": url, "summary": _job_sentences(result)}


def result_of_job(job: Job) -> ImportResult | None:
    """The import result a finished ``ingest.import`` job stored (problems, changes and new
    enterprises capped at ``JOB_SHOWN``; the full problem report is downloadable)."""
    data = dict(job.result or {})
    if job.status != "done" or "ok" not in data:
        return None
    fields = {k: data[k] for k in ImportResult.__dataclass_fields__ if k in data}
    fields["problems"] = [Problem(**p) for p in data.get("problems", [])]
    fields["changes"] = [ChangedValue(**c) for c in data.get("changes", [])]
    return ImportResult(**fields)


def visible_import_job(session: Session, actor: Actor, job_id: int) -> Job:
    job = repo.visible_job(session, actor, job_id, JOB_KIND)
    if job is None:
        raise NotFound(f"导入任务 {job_id} 不存在或不在您的权限范围内",
                       f"Import job {job_id} not found")
    return job


def _job_sentences(result: ImportResult) -> list[str]:
    """The result as sentences a clerk reads (Chinese, then English)."""
    if result.ok:
        lines = [result.message,
                 f"Imported {result.rows_imported:,} of {result.rows_total:,} rows from "
                 f"{result.filename}: {result.facts_new:,} new values, {result.facts_changed:,}"
                 f" changed, {result.facts_unchanged:,} unchanged, "
                 f"{result.enterprises_created:,} enterprises created."
                 if not result.dry_run else
                 f"Dry run of {result.filename}: {result.facts_new:,} new values, "
                 f"{result.facts_changed:,} changed; nothing was written."]
    else:
        lines = [result.message,
                 f"{result.filename} was not imported: {result.problem_count:,} problems; "
                 "download the problem report."]
    return lines


# --- batches ---------------------------------------------------------------------------


def _visible(session: Session, model: Any, object_id: int, in_scope: Any, what_zh: str,
             what_en: str) -> Any:
    """One object by id, if the actor may see it; otherwise the same 404 as a missing one."""
    found = repo.visible_by_id(session, model, object_id, in_scope)
    if found is None:
        raise NotFound(f"{what_zh} {object_id} 不存在或不在您的权限范围内",
                       f"{what_en} {object_id} not found")
    return found


def visible_batch(session: Session, actor: Actor, batch_id: int) -> ImportBatch:
    return _visible(session, ImportBatch, batch_id, repo.batch_visible(actor),
                    "导入批次", "Import batch")


def list_batches(session: Session, actor: Actor, limit: int = 200, offset: int = 0
                 ) -> list[ImportBatch]:
    return repo.batches(session, actor, limit, offset)


def do_rollback_batch(session: Session, actor: Actor, batch_id: int) -> dict[str, Any]:
    """Undo a batch: delete its facts, restore what it superseded, remove the enterprises it
    created that nothing references. Refused while a later committed batch superseded some
    of its values (that batch must be rolled back first)."""
    if actor.role not in IMPORT_ROLES:
        raise Forbidden("您的角色不能回滚导入批次", "Your role may not roll back batches")
    batch = visible_batch(session, actor, batch_id)
    if batch.status in ("loading", "publishing"):
        raise Conflict(f"批次 {batch_id} 正在导入，导入完成后才能回滚",
                       f"Batch {batch_id} is still being imported")
    if batch.status == "failed":
        raise Conflict(f"批次 {batch_id} 的导入已中断并撤销，没有可回滚的数据",
                       f"Batch {batch_id} was interrupted and undone: nothing to roll back")
    if batch.status != "committed":
        raise Conflict(f"批次 {batch_id} 已于此前回滚", f"Batch {batch_id} is already rolled back")
    later = repo.superseding_batches(session, batch_id)
    if later:
        names = "、".join(f"批次 {b.id}（{b.filename}）" for b in later)
        raise Conflict(f"不能回滚批次 {batch_id}：其部分数据已被后续批次 {names} 更新；"
                       "请先回滚后续批次",
                       f"Batch {batch_id} cannot be rolled back: later batches "
                       f"{', '.join(str(b.id) for b in later)} superseded its values")
    repo.create_stage(session)
    repo.stage_touched(session, batch_id)
    deleted, restored = repo.delete_and_restore(session, batch_id)
    removed = repo.delete_unreferenced_enterprises(session, batch_id)
    refresh_derived(session, repo.metric_ids(session))
    repo.drop_stage(session)
    batch.status = "rolled_back"
    batch.rolled_back_at = utcnow()
    batch.rolled_back_by = actor.user_id
    summary = {"facts_deleted": deleted, "facts_restored": restored,
               "enterprises_removed": removed}
    audit.record(session, actor, "import.rollback", "import_batch", batch_id,
                 before={"status": "committed"}, after={"status": "rolled_back", **summary},
                 region_code=batch.region_code)
    session.flush()
    return summary


def do_recover_imports(session: Session, actor: Actor,
                       checkpoint: Callable[[], None] | None = None) -> list[int]:
    """Undo or finish the long imports whose process died (:mod:`kechuang.ingest.loading`);
    the batch ids. Run by every import, by ``kechuang batches recover`` and at server start."""
    return loading.recover_dead(session, actor, checkpoint)


# --- problem reports -----------------------------------------------------------------------


def report_xlsx(problems: list[list[Any]]) -> bytes:
    return write_xlsx([("问题清单", REPORT_HEADER, problems)])


def problems_xlsx(problems: list[Problem]) -> bytes:
    return report_xlsx([p.as_row() for p in problems])


def visible_report(session: Session, actor: Actor, report_id: int) -> ImportReport:
    return _visible(session, ImportReport, report_id, repo.report_visible(actor),
                    "问题报告", "Problem report")


def batch_sample(session: Session, actor: Actor, batch_id: int, limit: int = 50) -> list[Any]:
    """The first facts a batch wrote (enterprise, metric, period, value, current?), of the
    enterprises ``actor`` may see."""
    return repo.batch_sample(session, actor, batch_id, limit)


def report_id_of_batch(session: Session, batch_id: int) -> int | None:
    """The id of the import report saved with a batch (None when there is none)."""
    return repo.report_id_of_batch(session, batch_id)
