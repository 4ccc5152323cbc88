from __future__ import annotations

from kechuang.policy.loader import builtin_policies

HTE_GOOD = {
    "founded_on": "2015-06-01", "in_key_tech_field": "是", "major_incident_last_year": "否",
}


def hte_rows(uscc: str, revenue: tuple[float, float, float], rd: tuple[float, float, float],
             first_year: int = 2021, **latest: object) -> list[dict[str, object]]:
    """Three yearly rows of an enterprise for the HTE policy (evaluation year = last)."""
    rows = []
    for k in range(3):
        row: dict[str, object] = {
            "uscc": uscc, "year": first_year + k, **HTE_GOOD,
            "revenue": revenue[k], "rd_expense": rd[k], "rd_expense_domestic": rd[k],
            "total_assets": 1000 + 300 * k, "total_liabilities": 0, "transformations": 5,
        }
        if k == 2:
            row.update({"employees": 100, "tech_staff": 20, "high_tech_revenue": 4000,
                        "total_income": 5200, "non_taxable_income": 200, "class1_ip": 2,
                        "class2_ip": 3, "standards_led": 0})
            row.update(latest)
        rows.append(row)
    return rows


def hte():
    return builtin_policies()["hte"]


def tech_sme():
    return builtin_policies()["tech_sme"]
