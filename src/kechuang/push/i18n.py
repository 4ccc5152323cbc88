"""UI strings of the push pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "push.inbox": ("政策消息", "Policy messages"),
    "push.inbox.empty": ("暂无消息", "No messages yet"),
    "push.inbox.hint": ("根据最新的政策计算结果向贵企业推送；打开本页即视为已读。",
                        "Pushed from the latest policy runs; opening this page marks them read."),
    "push.apply": ("我要申请", "I want to apply"),
    "push.applied": ("已申请", "Applied"),
    "push.granted": ("已获批", "Granted"),
    "push.mute": ("不再接收该政策消息", "Mute this policy"),
    "push.unmute": ("恢复接收", "Unmute"),
    "push.muted": ("已屏蔽的政策", "Muted policies"),
    "push.muted.none": ("未屏蔽任何政策", "No muted policy"),
    "push.view_policy": ("查看条件与依据", "Conditions and clauses"),
    "push.gap": ("差距", "Gap"),
    "push.title": ("精准推送", "Precise push"),
    "push.funnel": ("触达与转化", "Reach and conversion"),
    "push.funnel.hint": ("推送 → 已读 → 申请 → 获批；比率均相对推送数。",
                         "Pushed → opened → applied → granted; rates are over pushed."),
    "push.col.policy": ("政策", "Policy"),
    "push.col.kind": ("类型", "Kind"),
    "push.col.pushed": ("推送", "Pushed"),
    "push.col.opened": ("已读", "Opened"),
    "push.col.applied": ("申请", "Applied"),
    "push.col.granted": ("获批", "Granted"),
    "push.col.enterprise": ("企业", "Enterprise"),
    "push.col.period": ("年度", "Year"),
    "push.col.status": ("状态", "Status"),
    "push.col.created": ("生成时间", "Created"),
    "push.grant": ("标记获批", "Mark granted"),
    "push.export": ("导出待发送消息", "Export pending messages"),
    "push.export.since": ("起始日期（可选）", "Since (optional)"),
    "push.export.hint": (
        "导出尚未导出的消息，用于短信 / 微信发送；导出后标记为已导出。"
        "企业库暂无联系方式字段，发送端按统一社会信用代码匹配联系人。",
        "Exports messages not yet exported, for SMS/WeChat; they are then marked exported. "
        "Enterprises have no contact field yet: match contacts by credit code."),
    "push.messages": ("最近消息", "Latest messages"),
    "push.filter.policy": ("政策", "Policy"),
    "push.filter.kind": ("类型", "Kind"),
    "push.kind.newly_eligible": ("新符合条件", "Newly eligible"),
    "push.kind.near_eligible": ("接近符合", "Near-eligible"),
    "push.kind.expiring": ("资格即将到期", "Expiring"),
    "push.kind.program_open": ("新开放项目", "Newly open programme"),
    "push.kind.carbon_alert": ("碳效预警", "Carbon-efficiency alert"),
    "push.kind.expired": ("资格已到期", "Expired"),
    "push.kind.information": ("政策信息", "Information"),
    "push.benefit": ("估算收益", "Estimated benefit"),
    "push.no_apply": ("按消息说明办理，无需在平台申请", "Follow the message; no application here"),
    "push.batches": ("推送审核", "Push review"),
    "push.batches.hint": (
        "政策计算和积分评价生成的消息先成为待审核批次，审核发送后才进入企业收件箱。"
                          "项目申报通知和已审核的碳效预警直接发送。",
                          "Messages from policy runs and scoring runs wait here as draft batches;"
                          " they reach inboxes only when a reviewer sends them. Call"
                          " announcements and reviewed carbon alerts go out directly."),
    "push.batches.drafts": ("待审核", "Waiting for review"),
    "push.batches.none": ("没有待审核的推送批次", "No batch is waiting for review"),
    "push.batches.history": ("已处理", "Decided"),
    "push.batch": ("推送批次", "Push batch"),
    "push.batch.source": ("来源", "Source"),
    "push.batch.source.policy": ("政策计算", "Policy run"),
    "push.batch.source.scoring": ("积分评价", "Scoring run"),
    "push.batch.source.program": ("项目申报通知", "Call announcement"),
    "push.batch.source.notice": ("已审核通知", "Reviewed notice"),
    "push.batch.status.draft": ("待审核", "Draft"),
    "push.batch.status.sent": ("已发送", "Sent"),
    "push.batch.status.discarded": ("已放弃", "Discarded"),
    "push.batch.status.dropped": ("不发送", "Dropped"),
    "push.batch.messages": ("条消息", "messages"),
    "push.batch.review": ("审核", "Review"),
    "push.batch.review.hint": (
        "逐条核对收件企业、消息内容和依据；勾选「不发送」可剔除，展开可修改正文。"
                               "点击发送后一次性进入企业收件箱，并记入审计日志。",
                               "Check each recipient, message and reason; tick Drop to leave one"
                               " out, open Edit to change its text. Sending delivers them all at"
                               " once and is audited."),
    "push.batch.why": ("依据", "Why"),
    "push.batch.drop": ("不发送", "Drop"),
    "push.batch.edit": ("修改正文", "Edit text"),
    "push.batch.send": ("发送本批消息", "Send this batch"),
    "push.batch.discard": ("整批放弃", "Discard the batch"),
    "push.batch.discard.reason": ("放弃原因", "Reason"),
    "push.batch.decided": ("处理结果", "Decision"),
    "push.batch.decision": ("发送 {sent} 条，剔除 {dropped} 条，修改 {edited} 条",
                            "{sent} sent, {dropped} dropped, {edited} edited"),
    "push.batch.created_by": ("生成", "Created by"),
    "push.batch.decided_by": ("处理人", "Decided by"),
    "push.status.new": ("未读", "Unread"),
    "push.status.opened": ("已读", "Opened"),
    "push.leading": ("领军企业", "Leading enterprises"),
}

register_messages(MESSAGES)
