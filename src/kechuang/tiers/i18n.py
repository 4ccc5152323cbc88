"""UI strings of the cultivation pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "tiers.title": ("梯次培育", "Tiered cultivation"),
    "tiers.snapshots": ("梯队快照", "Tier snapshots"),
    "tiers.snapshot.none": ("尚无梯队快照；政策计算完成后自动生成，也可在此手动生成。",
                            "No snapshot yet; made after each policy run, or here by hand."),
    "tiers.snapshot.submit": ("生成梯队快照", "Take a snapshot"),
    "tiers.snapshot.year": ("评价年度（默认最近一年）", "Evaluation year (default latest)"),
    "tiers.snapshot.done": ("已生成 {year} 年度梯队快照", "Snapshot of {year} taken"),
    "tiers.col.year": ("年度", "Year"),
    "tiers.col.taken": ("生成时间", "Taken"),
    "tiers.sankey": ("梯队迁移（桑基图）", "Tier transitions (Sankey)"),
    "tiers.sankey.hint": ("两年快照中都有的企业，按梯队迁移计数。",
                          "Enterprises present in both snapshots, counted by transition."),
    "tiers.sankey.from": ("起始年度", "From"),
    "tiers.sankey.to": ("对比年度", "To"),
    "tiers.sankey.none": ("需要至少两个年度的快照", "Needs snapshots of two years"),
    "tiers.pool": ("培育库", "Cultivation pool"),
    "tiers.pool.hint": (
        "低一级梯队中、与目标梯队差距较小（与精准推送“接近符合”同一规则）的企业及其差距。",
        "Enterprises one tier below with small gaps (the push near-eligible rule), "
        "with their gaps."),
    "tiers.pool.target": ("目标梯队", "Target tier"),
    "tiers.pool.search": ("企业名称或信用代码", "Name or credit code"),
    "tiers.pool.empty": ("该梯队培育库暂无企业", "No enterprise in this pool"),
    "tiers.col.enterprise": ("企业", "Enterprise"),
    "tiers.col.current": ("当前梯队", "Current tier"),
    "tiers.col.gap": ("差距", "Gap"),
    "tiers.transitions": ("迁移计数", "Transition counts"),
}

register_messages(MESSAGES)
