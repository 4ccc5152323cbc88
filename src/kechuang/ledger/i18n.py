"""UI strings of the ledger pages (Simplified Chinese first, English second)."""

from __future__ import annotations

from kechuang.web.i18n import register_messages

MESSAGES: dict[str, tuple[str, str]] = {
    "ledger.title": ("资金台账", "Ledger"),
    "ledger.hint": ("每笔款项只增不改：更正以冲正记录登记；付款不得超出预算。",
                    "Entries are never changed: corrections are reversing entries; payments "
                    "never exceed the budget."),
    "ledger.budgets": ("预算", "Budgets"),
    "ledger.entries": ("台账记录", "Entries"),
    "ledger.col.key": ("预算编号", "Budget key"),
    "ledger.col.title": ("预算名称", "Title"),
    "ledger.col.year": ("年度", "Year"),
    "ledger.col.amount": ("预算金额（元）", "Budget (CNY)"),
    "ledger.col.paid": ("已支付（元）", "Paid (CNY)"),
    "ledger.col.received": ("收回（元）", "Received (CNY)"),
    "ledger.col.reversed": ("冲正（元）", "Reversed (CNY)"),
    "ledger.col.remaining": ("余额（元）", "Remaining (CNY)"),
    "ledger.col.id": ("编号", "No."),
    "ledger.col.type": ("类型", "Type"),
    "ledger.col.kind": ("款项类别", "Kind"),
    "ledger.col.payee": ("收款方", "Payee"),
    "ledger.col.money": ("金额（元）", "Amount (CNY)"),
    "ledger.col.balance": ("记后余额（元）", "Balance after (CNY)"),
    "ledger.col.decision": ("决定文号", "Decision"),
    "ledger.col.time": ("时间", "Time"),
    "ledger.col.opening": ("年初余额（元）", "Opening (CNY)"),
    "ledger.col.rev_pay": ("冲正付款（元）", "Reversed payments (CNY)"),
    "ledger.col.rev_rec": ("冲正收款（元）", "Reversed receipts (CNY)"),
    "ledger.col.closing": ("年末余额（元）", "Closing (CNY)"),
    "ledger.col.ledger_balance": ("台账余额（元）", "Ledger balance (CNY)"),
    "ledger.col.balanced": ("平衡", "Balanced"),
    "ledger.type.payment": ("付款", "Payment"),
    "ledger.type.receipt": ("收款", "Receipt"),
    "ledger.type.reversal": ("冲正", "Reversal"),
    "ledger.none": ("暂无记录", "Nothing yet"),
    "ledger.recon": ("对账报告", "Reconciliation"),
    "ledger.recon.hint": ("按北京时间自然年：年末余额 = 年初余额 − 支付 + 收回 + 冲正付款 − "
                          "冲正收款，"
                          "并与逐笔记载的余额核对。",
                          "Calendar year in Beijing time: closing = opening − paid + received + "
                          "reversed payments − reversed receipts, checked against the running "
                          "balance on the entries."),
    "ledger.recon.export": ("导出 XLSX", "Export XLSX"),
    "ledger.recon.show": ("查看", "Show"),
    "ledger.recon.ok": ("全部平衡", "All balanced"),
    "ledger.recon.bad": ("存在不平衡的预算", "Some budgets do not balance"),
    "ledger.yes": ("是", "Yes"),
    "ledger.no": ("否", "No"),
    "ledger.total": ("合计", "Total"),
    "ledger.newer": ("← 较新的记录", "← Newer entries"),
    "ledger.older": ("较早的记录 →", "Older entries →"),
    "ledger.my": ("我的款项", "My payments"),
    "ledger.my.hint": ("财政资金拨付给本单位的记录。", "Money paid to your organisation."),
}

register_messages(MESSAGES)
