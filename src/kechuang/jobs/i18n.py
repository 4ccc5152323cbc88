"""UI strings of the job pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "jobs.title": ("后台任务", "Jobs"),
    "jobs.job": ("任务 #{id}", "Job #{id}"),
    "jobs.kind": ("类型", "Kind"),
    "jobs.status": ("状态", "Status"),
    "jobs.progress": ("进度", "Progress"),
    "jobs.params": ("参数", "Parameters"),
    "jobs.created": ("提交时间", "Submitted"),
    "jobs.started": ("开始时间", "Started"),
    "jobs.finished": ("结束时间", "Finished"),
    "jobs.actor": ("提交人", "Submitted by"),
    "jobs.result": ("结果", "Result"),
    "jobs.error": ("失败原因", "Error"),
    "jobs.open_result": ("查看结果", "Open the result"),
    "jobs.none": ("暂无任务", "No jobs yet"),
    "jobs.polling": ("页面每秒自动刷新进度", "This page refreshes the progress every second"),
    "jobs.status.queued": ("排队中", "Queued"),
    "jobs.status.running": ("运行中", "Running"),
    "jobs.status.done": ("已完成", "Done"),
    "jobs.status.failed": ("失败", "Failed"),
}

register_messages(MESSAGES)
