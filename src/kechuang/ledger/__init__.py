"""The append-only ledger: budgets, payments, receipts, reversals and reconciliation."""
