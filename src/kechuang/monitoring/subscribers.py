"""Reactions of kechuang.monitoring to other packages' events: the demo county gets two
years of uploaded indicators (GDP, R&D intensity) for itself and its towns and parks,
yearly targets for every indicator, and a key-task list with milestones and the
departments' progress reports — deterministic from the seed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit import events
from kechuang.models.monitoring import (
    IndicatorTarget,
    IndicatorValue,
    MonitoringTask,
    TaskMilestone,
    TaskReport,
)
from kechuang.monitoring import parameters, service
from kechuang.monitoring import repository as repo

#: (department, title, month of the deadline, milestones as (title, month))
DEMO_TASKS = [
    ("kjj", "高新技术企业培育入库与认定申报辅导", 10, [("培育库企业摸排", 3), ("申报材料辅导", 6)]),
    ("kjj", "科技型中小企业评价入库全覆盖", 9, [("政策宣讲", 4), ("入库审核", 8)]),
    ("kjj", "新建市级以上企业研发机构", 12, [("遴选储备项目", 5), ("组织认定", 11)]),
    ("stats", "规上工业企业研发活动统计全覆盖", 6, [("研发统计培训", 3)]),
    ("stats", "研发经费投入强度核算与季度监测", 12, [("一季度监测", 4), ("三季度监测", 10)]),
    ("tax", "研发费用加计扣除政策应享尽享", 7, [("汇算清缴辅导", 5)]),
    ("tax", "高企税收优惠落实情况核查", 11, [("抽查核实", 9)]),
    ("ip", "高价值发明专利培育", 12, [("专利导航项目", 6), ("质押融资对接", 10)]),
    ("ip", "知识产权质押融资扩面", 9, [("银企对接会", 5)]),
    ("hrss", "科技人才引进与博士后工作站建设", 11, [("人才政策兑现", 6)]),
    ("market", "首台（套）装备与标准化示范", 12, [("标准立项", 7)]),
    ("miit", "专精特新企业梯度培育", 10, [("遴选推荐", 6)]),
]


@events.subscribe("demo.county_loaded")
def demo_monitoring(*, session: Session, seed: int, county_code: str, today: date,
                    years: list[int], summary: dict[str, Any]) -> None:
    rng = np.random.default_rng([seed, 1414])
    cli = Actor.command_line()
    system = parameters.indicator_system()
    two = years[-2:]
    county = repo.region(session, county_code)
    if county is None:
        return
    subs = repo.sub_regions(session, county_code)
    # --- uploaded indicators: GDP (亿元) and R&D intensity (%) for the county and its parts
    gdp_county = float(rng.uniform(2500, 3500))
    weights = rng.dirichlet(np.ones(len(subs))) if subs else np.array([])
    uploaded = 0
    for k, year in enumerate(two):
        growth = 1.0 + 0.05 * k
        rd = float(rng.uniform(2.6, 3.3)) + 0.1 * k
        rows = [(county.code, gdp_county * growth, rd)] + [
            (r.code, gdp_county * growth * float(w), rd * float(rng.uniform(0.6, 1.3)))
            for r, w in zip(subs, weights, strict=True)]
        for code, gdp, intensity in rows:
            for ind_id, value in (("gdp", gdp), ("rd_intensity", intensity)):
                repo.add(session, IndicatorValue(
                    region_code=code, indicator_id=ind_id, year=year,
                    value=Decimal(f"{value:.2f}"), source="演示数据 demo"))
                uploaded += 1
    # --- targets for the county: 5–12 % above the year before's value
    table = service.indicator_table(session, cli, county.code, [two[0] - 1, *two])
    mine = table[table["region_code"] == county.code]
    targets = 0
    for year in two:
        for ind in system.indicators:
            prev = mine[(mine["indicator_id"] == ind.id) & (mine["year"] == year - 1)]["value"]
            base = float(prev.iloc[0]) if len(prev) and prev.iloc[0] == prev.iloc[0] else None
            if base is None:
                same = mine[(mine["indicator_id"] == ind.id) & (mine["year"] == year)]["value"]
                base = float(same.iloc[0]) if len(same) and same.iloc[0] == same.iloc[0] else None
            if not base:
                continue
            factor = float(rng.uniform(1.05, 1.12))
            value = round(base * factor, 2) if ind.unit in ("亿元", "%") else float(
                np.ceil(base * factor))
            repo.add(session, IndicatorTarget(region_code=county.code, indicator_id=ind.id,
                                              year=year, target=Decimal(f"{value:.2f}")))
            targets += 1
    # --- key tasks of the last demo year (closed) and of the current year (in progress)
    users = repo.department_users(session, county.code)
    known = set(repo.departments(session))
    n_tasks = n_reports = 0
    for year in (years[-1], today.year):
        current = year == today.year
        for i, (dept, title, month, miles) in enumerate(DEMO_TASKS, start=1):
            if dept not in known:
                continue
            deadline = _month_end(year, month)
            t = repo.add(session, MonitoringTask(
                region_code=county.code, code=f"{year}-{i:02d}", title=title,
                description=f"{year} 年度重点任务：{title}", department_code=dept, year=year,
                deadline=deadline, created_by=None,
                created_at=datetime.combine(date(year, 1, 10), time(1), UTC)))
            n_tasks += 1
            for mtitle, mmonth in miles:
                due = _month_end(year, mmonth)
                done = due - timedelta(days=int(rng.integers(0, 20)))
                late = current and rng.random() < 0.3
                repo.add(session, TaskMilestone(task_id=t.id, title=mtitle, due_on=due,
                                                done_on=None if (late or done > today) else done))
            if dept not in users:
                continue
            # reports every two months up to the deadline (or today); most tasks whose
            # deadline has passed were finished, a few were not (overdue)
            finished = deadline < today and rng.random() < (0.75 if current else 0.9)
            months = [m for m in range(2, 13, 2)
                      if date(year, m, 15) <= min(today, deadline)]
            if not months:
                continue
            span = max(1, (deadline - date(year, 1, 1)).days)
            for j, m in enumerate(months):
                share = (date(year, m, 15) - date(year, 1, 1)).days / span
                progress = int(max(5, min(95, 100 * share + rng.normal(0, 8))))
                roll = rng.random()
                status = "delayed" if roll < 0.1 else "at_risk" if roll < 0.2 else "on_track"
                last = j == len(months) - 1
                if last and finished:
                    progress, status = 100, "done"
                when = datetime.combine(min(date(year, m, 15), deadline), time(2), UTC)
                repo.add(session, TaskReport(
                    task_id=t.id, department_code=dept, progress=progress, status=status,
                    note=f"{m} 月进展：已完成 {progress}%。", reported_by=users[dept],
                    actor=dept, reported_at=when))
                n_reports += 1
            if finished:
                t.status = "done"
                t.closed_at = datetime.combine(min(date(year, months[-1], 15), deadline),
                                               time(2), UTC)
    summary["monitoring"] = {"uploaded_values": uploaded, "targets": targets,
                             "tasks": n_tasks, "reports": n_reports}


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)
