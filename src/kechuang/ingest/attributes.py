"""Refreshing the enterprise columns derived from attribute facts, set-based.

``enterprise.hte_expires_on``, ``seriously_dishonest`` … mirror the current attribute facts
so that list filters need no join into ``fact``. After an import or a rollback, one UPDATE
per derived column recomputes it for the enterprises whose fact of that metric was touched
(the keys in the staging table) — never a Python loop over enterprises.

Master fields (name, region, industry, founding date) keep their value when no fact exists
(enterprises registered before any import); qualification columns and flags follow the
facts exactly (no current fact → NULL, or false for flags).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kechuang.ingest import repository as repo

#: enterprise column → (metric code, kind) ; kind: text, date, int, bool, flag, and the
#: master variants (keep the column's value when there is no fact)
DERIVED: dict[str, tuple[str, str]] = {
    "hte_expires_on": ("hte_cert_expires_on", "date"),
    "hte_cert_no": ("hte_cert_no", "text"),
    "tech_sme_year": ("tech_sme_registered_year", "int"),
    "srdi_level": ("srdi_level", "text"),
    "rd_institution_level": ("rd_institution_level", "text"),
    "in_key_tech_field": ("in_key_tech_field", "bool"),
    "seriously_dishonest": ("seriously_dishonest", "flag"),
    "abnormal_operation": ("abnormal_operation", "flag"),
    "major_incident_last_year": ("major_incident_last_year", "flag"),
    "name": ("name", "master_text"),
    "region_code": ("region_code", "master_text"),
    "industry_code": ("industry_code", "master_text"),
    "founded_on": ("founded_on", "master_date"),
}


def refresh_derived(session: Session, metric_ids: dict[str, int]) -> int:
    """Recompute the derived columns for the enterprise/metric pairs in the staging table.

    Returns the number of UPDATE statements run (one per derived column the stage touches).
    """
    return repo.refresh_derived(session, metric_ids, DERIVED)
