"""Security-matrix rows of the profile: the enterprise detail's roles and scope (banks and
experts are admitted by role but see no enterprise yet, so they get 404)."""

from __future__ import annotations

BUREAU = {"bureau_admin", "bureau_staff"}
DETAIL = BUREAU | {"enterprise", "bank", "expert"}

ROUTES: dict[str, set[str]] = {
    "GET /enterprises/me/profile": {"enterprise"},
    "GET /enterprises/{uscc}/profile": DETAIL,
    "POST /enterprises/{uscc}/profile/whatif": DETAIL,
    "GET /api/v1/enterprises/{uscc}/profile": DETAIL,
    "POST /api/v1/enterprises/{uscc}/profile/whatif": DETAIL,
}
