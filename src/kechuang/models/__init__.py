"""All mapped tables; importing this module registers them on ``Base.metadata``."""

# tables of the packages below register themselves on import (one module per capability)
from kechuang.models import dispatch as _dispatch  # noqa: E402,F401
from kechuang.models import finance as _finance  # noqa: E402,F401
from kechuang.models import ledger as _ledger  # noqa: E402,F401
from kechuang.models import matching as _matching  # noqa: E402,F401
from kechuang.models import monitoring as _monitoring  # noqa: E402,F401
from kechuang.models import programs as _programs  # noqa: E402,F401
from kechuang.models import push as _push  # noqa: E402,F401
from kechuang.models import review as _review  # noqa: E402,F401
from kechuang.models import security as _security  # noqa: E402,F401
from kechuang.models.accounts import ROLES, AuditEvent, LoginAttempt, LoginSession, User
from kechuang.models.base import Base, utcnow
from kechuang.models.enterprise import ATTR_PERIOD, Enterprise, Fact, ImportBatch, ImportUpload
from kechuang.models.ingest import ImportReport, ImportTemplateVersion
from kechuang.models.jobs import Job
from kechuang.models.orgs import Bank, Expert, Institute
from kechuang.models.policy import PolicyResultBlock, PolicyRun
from kechuang.models.reference import Department, Industry, Metric, Region
from kechuang.models.scoring import (
    RobustnessResult,
    RobustnessRun,
    ScoreColumn,
    ScoreResult,
    ScoringRun,
)

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
    "ImportUpload",
    "ImportReport",
    "ImportTemplateVersion",
    "Industry",
    "Institute",
    "Job",
    "LoginAttempt",
    "LoginSession",
    "Metric",
    "PolicyResultBlock",
    "PolicyRun",
    "Region",
    "RobustnessResult",
    "RobustnessRun",
    "ScoreColumn",
    "ScoreResult",
    "ScoringRun",
    "User",
    "utcnow",
]
