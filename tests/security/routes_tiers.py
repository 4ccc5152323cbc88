"""Matrix rows of kechuang.tiers: every page and endpoint is the bureau's."""

from __future__ import annotations

BUREAU = {"bureau_admin", "bureau_staff"}

ROUTES: dict[str, set[str]] = {
    "GET /tiers": BUREAU,
    "GET /tiers/pool": BUREAU,
    "POST /tiers/snapshot": BUREAU,
    "GET /api/v1/tiers/transitions": BUREAU,
    "GET /api/v1/tiers/pool": BUREAU,
}
