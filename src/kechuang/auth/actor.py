"""Who is acting: a logged-in user, the anonymous public, or the command line."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

BUREAU_ROLES = frozenset({"bureau_admin", "bureau_staff"})


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    region_code: str | None
    region_path: str  # "/" for the whole country
    user_id: int | None = None
    department_code: str | None = None
    enterprise_id: int | None = None
    institute_id: int | None = None
    expert_id: int | None = None
    bank_id: int | None = None
    ip: str | None = None
    display_name: str = ""
    csrf_token: str | None = None
    locale: str | None = None
    #: the API token this request authenticated with (None: a browser session or the CLI)
    token_id: int | None = None

    @property
    def is_bureau(self) -> bool:
        return self.role in BUREAU_ROLES

    @property
    def is_authenticated(self) -> bool:
        return self.role != "public"

    @classmethod
    def public(cls, ip: str | None = None) -> Actor:
        return cls(username="public", role="public", region_code=None, region_path="/", ip=ip)

    @classmethod
    def command_line(cls, region_code: str | None = None, region_path: str = "/") -> Actor:
        """The operator at the server's shell: a bureau administrator over every region, or
        narrowed to one region (a county's demo records, region-scoped reports)."""
        try:
            who = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            who = "unknown"
        return cls(username=f"cli:{who}", role="bureau_admin", region_code=region_code,
                   region_path=region_path, display_name="命令行")
