"""Pydantic shapes of the registry: list filters and the JSON API's responses.

Decimal fields are serialised as strings in JSON (Pydantic's default for ``Decimal``), so
that exact values survive the trip through JavaScript clients.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

PER_PAGE = 50

#: an exact decimal in JSON: a string in plain notation ("1500", never "1.5E+3", which is
#: what a normalised Decimal would print)
ExactStr = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str,
                                              when_used="json")]

Qualification = Literal[
    "hte", "tech_sme", "srdi", "little_giant", "rd_institution", "dishonest", "abnormal"
]
QUALIFICATIONS: tuple[str, ...] = (
    "hte", "tech_sme", "srdi", "little_giant", "rd_institution", "dishonest", "abnormal"
)


class EnterpriseFilters(BaseModel):
    """What the list page and ``GET /api/v1/enterprises`` filter by. Empty means no filter."""

    model_config = ConfigDict(frozen=True)

    q: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=12)
    industry: str = Field(default="", max_length=5)
    qual: Qualification | Literal[""] = ""
    page: int = Field(default=1, ge=1, le=100_000)

    def query_string(self, page: int | None = None) -> str:
        """The filters as a query string (for pager links that keep the filters)."""
        params = {k: v for k, v in (("q", self.q), ("region", self.region),
                                    ("industry", self.industry), ("qual", self.qual)) if v}
        target = self.page if page is None else page
        if target > 1:
            params["page"] = str(target)
        return urlencode(params)


class BadgeOut(BaseModel):
    code: str
    label: str
    tone: Literal["ok", "warn", "bad", ""] = ""


class EnterpriseRow(BaseModel):
    """One row of the list."""

    uscc: str
    name: str
    region_code: str
    region_name: str | None
    industry_code: str | None
    industry_display: str | None
    industry_name: str | None
    badges: list[BadgeOut]


class EnterprisePage(BaseModel):
    total: int
    page: int
    pages: int
    per_page: int
    items: list[EnterpriseRow]


class FactOut(BaseModel):
    """A current (or superseded) fact value with its provenance."""

    metric: str
    metric_name: str
    unit: str | None
    period: int
    value: ExactStr | None
    value_text: str | None
    display: str
    batch_id: int
    department: str
    department_name: str
    batch_filename: str
    batch_at: datetime
    superseded_by: int | None = None


class InferredOut(BaseModel):
    """A yearly value that no department reported but that is known from its absence: the
    department reports the count only when it is above zero (facts/rules/absent.yaml)."""

    metric: str
    metric_name: str
    unit: str | None
    period: int
    display: str
    reason: str


class RegionOut(BaseModel):
    code: str
    name: str


class EnterpriseDetail(BaseModel):
    uscc: str
    name: str
    region_code: str
    region_path: list[RegionOut]
    industry_code: str | None
    industry_display: str | None
    industry_name: str | None
    founded_on: date | None
    size_class: str | None
    hte_cert_no: str | None
    hte_expires_on: date | None
    tech_sme_year: int | None
    srdi_level: str | None
    rd_institution_level: str | None
    seriously_dishonest: bool
    abnormal_operation: bool
    major_incident_last_year: bool
    badges: list[BadgeOut]
    facts: list[FactOut]
    history: list[FactOut]
    #: values inferred as zero from their absence, shown marked (never as reported facts)
    inferred: list[InferredOut] = []
