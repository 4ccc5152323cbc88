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

from sqlalchemy import text
from sqlalchemy.orm import Session

from kechuang.ingest.repository import STAGE, Dialect

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
    d = Dialect(session)
    touched = {int(m) for (m,) in session.execute(text(f"SELECT DISTINCT metric_id FROM {STAGE}"))}
    statements = 0
    for column, (code, kind) in DERIVED.items():
        mid = metric_ids.get(code)
        if mid is None or mid not in touched:
            continue
        if kind in ("date", "master_date"):
            value = d.as_date("f.value_text")
        elif kind == "int":
            value = d.as_int("f.value_num")
        elif kind in ("bool", "flag"):
            value = d.as_bool("f.value_text")
        else:
            value = "f.value_text"
        sub = (f"(SELECT {value} FROM fact f WHERE f.enterprise_id = enterprise.id "
               f"AND f.metric_id = :m AND f.period = 0 AND f.is_current = {d.true})")
        if kind == "flag":
            expr = f"COALESCE({sub}, {d.false})"
        elif kind.startswith("master"):
            expr = f"COALESCE({sub}, {column})"
        else:
            expr = sub
        session.execute(text(
            f"UPDATE enterprise SET {column} = {expr} WHERE id IN "
            f"(SELECT enterprise_id FROM {STAGE} WHERE metric_id = :m)"), {"m": mid})
        statements += 1
    return statements
