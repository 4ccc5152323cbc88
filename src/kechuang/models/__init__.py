"""All mapped tables; importing this module registers them on ``Base.metadata``."""

from kechuang.models.accounts import ROLES, AuditEvent, LoginAttempt, LoginSession, User
from kechuang.models.base import Base, utcnow
from kechuang.models.enterprise import ATTR_PERIOD, Enterprise, Fact, ImportBatch
from kechuang.models.ingest import ImportReport, ImportTemplateVersion
from kechuang.models.orgs import Bank, Expert, Institute
from kechuang.models.policy import PolicyResult, PolicyRun
from kechuang.models.reference import Department, Industry, Metric, Region

__all__ = [
    "ATTR_PERIOD",
    "ROLES",
    "AuditEvent",
    "Bank",
    "Base",
    "Department",
    "Enterprise",
    "Expert",
    "Fact",
    "ImportBatch",
    "ImportReport",
    "ImportTemplateVersion",
    "Industry",
    "Institute",
    "LoginAttempt",
    "LoginSession",
    "Metric",
    "PolicyResult",
    "PolicyRun",
    "Region",
    "User",
    "utcnow",
]
