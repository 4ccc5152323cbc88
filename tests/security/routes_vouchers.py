"""Matrix rows of kechuang.vouchers: the bureau's vouchers and providers, an enterprise's own
vouchers, providers (institute or enterprise accounts) redeeming."""

from __future__ import annotations

BUREAU = {"bureau_admin", "bureau_staff"}
ADMIN = {"bureau_admin"}
PROVIDERS = {"institute", "enterprise"}

ROUTES: dict[str, set[str]] = {
    "GET /api/v1/vouchers": BUREAU | {"enterprise"},
    "GET /api/v1/vouchers/summary": BUREAU,
    "POST /api/v1/vouchers/issue": ADMIN,
    "GET /api/v1/vouchers/providers": BUREAU | PROVIDERS,
    "POST /api/v1/vouchers/providers": ADMIN,
    "POST /api/v1/vouchers/providers/{provider_id}/services": BUREAU | PROVIDERS,
    "POST /api/v1/vouchers/redemptions": BUREAU | PROVIDERS,
    "GET /api/v1/vouchers/redemptions": BUREAU | PROVIDERS,
    "POST /api/v1/vouchers/providers/{provider_id}/settlements": BUREAU,
    "GET /vouchers": BUREAU | {"enterprise"},
    "GET /vouchers/redeem": BUREAU | PROVIDERS,
    "POST /vouchers/redeem": BUREAU | PROVIDERS,
    "GET /vouchers/providers": BUREAU,
    "POST /vouchers/providers": ADMIN,
    "POST /vouchers/providers/{provider_id}/services": BUREAU,
    "POST /vouchers/providers/{provider_id}/settle": BUREAU,
    "GET /vouchers/settlements/{settlement_id}.xlsx": BUREAU,
}
