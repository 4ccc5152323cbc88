"""Jobs queued on behalf of lower packages, which may not import the job queue: an uploaded
import file (``ingest.upload_stored``) becomes an ``ingest.import`` job (issue 11, item 6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.ingest.service import JOB_KIND, run_upload_job
from kechuang.jobs.service import register_kind, submit
from kechuang.kit.events import subscribe

register_kind(JOB_KIND, run_upload_job)


@subscribe("ingest.upload_stored")
def queue_import(session: Session, actor: Actor, upload_id: int, out: dict[str, Any]) -> None:
    out["job_id"] = submit(session, actor, JOB_KIND, {"upload_id": upload_id}).id
