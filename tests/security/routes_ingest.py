"""Matrix rows of kechuang.ingest added after the central table: template downloads and
import jobs."""

from __future__ import annotations

INTAKE = {"bureau_admin", "bureau_staff", "department"}

ROUTES: dict[str, set[str]] = {
    "GET /import-templates/{name}.xlsx": INTAKE,
    "GET /import-templates/{name}.csv": INTAKE,
    "GET /imports/jobs/{job_id}": INTAKE,
    "GET /imports/jobs/{job_id}/progress": INTAKE,
}
