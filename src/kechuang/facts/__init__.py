"""Facts: the one reader of departmental values (``fact`` rows) for every package.

:mod:`kechuang.facts.repository` holds the SQL; :mod:`kechuang.facts.service` the public
functions (bulk wide frames with scope, one enterprise's values with provenance, counts).
The public names of the former ``kechuang.facts`` module stay importable from here.
"""

from kechuang.facts.service import (
    FLAG_METRICS,
    MASTER_FIELDS,
    FactColumns,
    fact_columns,
    read_facts,
)

__all__ = ["FLAG_METRICS", "MASTER_FIELDS", "FactColumns", "fact_columns", "read_facts"]
