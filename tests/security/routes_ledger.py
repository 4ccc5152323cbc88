"""Matrix rows of kechuang.ledger: budgets, entries, payments and reconciliation for the
bureau (opening budgets and reversals: administrators only); own payments for enterprises and
institutes."""

from __future__ import annotations

BUREAU = {"bureau_admin", "bureau_staff"}
ADMIN = {"bureau_admin"}

ROUTES: dict[str, set[str]] = {
    "GET /api/v1/ledger/budgets": BUREAU,
    "POST /api/v1/ledger/budgets": ADMIN,
    "GET /api/v1/ledger/entries": BUREAU,
    "POST /api/v1/ledger/payments": BUREAU,
    "POST /api/v1/ledger/receipts": BUREAU,
    "POST /api/v1/ledger/reversals": ADMIN,
    "GET /api/v1/ledger/reconciliation": BUREAU,
    "GET /api/v1/ledger/my-payments": {"enterprise", "institute"},
    "GET /ledger": BUREAU,
    "GET /ledger/reconciliation": BUREAU,
    "GET /ledger/reconciliation.xlsx": BUREAU,
    "GET /ledger/my-payments": {"enterprise", "institute"},
}
