"""Security-matrix rows of kechuang.monitoring: the indicator dashboard, targets and uploads
are the bureau's; key tasks are read by the bureau and the departments (each its own),
progress is reported by the owner department's account only."""

from __future__ import annotations

BUREAU = {"bureau_admin", "bureau_staff"}
TASKS = BUREAU | {"department"}

ROUTES: dict[str, set[str]] = {
    "GET /monitoring": BUREAU,
    "GET /monitoring/export.xlsx": BUREAU,
    "POST /monitoring/targets": BUREAU,
    "POST /monitoring/upload": BUREAU,
    "GET /monitoring/tasks": TASKS,
    "POST /monitoring/tasks": BUREAU,
    "GET /monitoring/tasks/report.xlsx": TASKS,
    "GET /monitoring/tasks/report.pdf": TASKS,
    "GET /monitoring/tasks/{task_id}": TASKS,
    "POST /monitoring/tasks/{task_id}/report": {"department"},
    "GET /api/v1/monitoring/dashboard": BUREAU,
    "GET /api/v1/monitoring/indicators": BUREAU,
    "GET /api/v1/monitoring/tasks": TASKS,
    "GET /api/v1/monitoring/tasks/{task_id}": TASKS,
    "POST /api/v1/monitoring/tasks/{task_id}/reports": {"department"},
}
