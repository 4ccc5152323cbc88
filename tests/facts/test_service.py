"""The facts package's reads for other packages: scope, current vs history, as-of, years,
positive values. (The bulk reader ``read_facts`` is tested with the policy runs.)"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, select

import kechuang.facts as facts_pkg
from kechuang.db import unit_of_work
from kechuang.facts import service
from kechuang.models import Enterprise, Metric
from tests.ingest.helpers import user_actor
from tests.registry.factdata import add_batch, add_facts
from tests.support.seed import uscc


def _seed(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        tax = add_batch(s, "tax", "税务数据2022.csv", at=datetime(2024, 3, 1, tzinfo=UTC))
        add_facts(s, tax, uscc(1), {"revenue": {2021: Decimal("1200.5"), 2022: Decimal("1500")},
                                    "rd_expense": {2022: Decimal("0")}})
        later = add_batch(s, "stats", "统计年报2023.xlsx", at=datetime(2024, 6, 30, tzinfo=UTC))
        add_facts(s, later, uscc(1), {"revenue": {2022: Decimal("1510.75")}})
        add_facts(s, later, uscc(2), {"rd_expense": {2022: Decimal("7")}})


def test_the_former_module_names_stay_importable() -> None:
    assert facts_pkg.read_facts is service.read_facts
    assert {"FLAG_METRICS", "MASTER_FIELDS", "FactColumns", "fact_columns"} <= set(dir(facts_pkg))


def test_years_are_read_within_scope(engine: Engine) -> None:
    _seed(engine)
    admin = user_actor(engine, "admin")
    other = user_actor(engine, "other_admin")
    with unit_of_work(engine) as s:
        assert service.latest_year(s, admin) == 2022
        assert service.year_has_facts(s, admin, 2021)
        assert not service.year_has_facts(s, admin, 2019)
        # another county's bureau sees none of these enterprises' facts
        assert service.latest_year(s, other) is None
        assert not service.year_has_facts(s, other, 2022)


def test_current_history_and_as_of(engine: Engine) -> None:
    _seed(engine)
    with unit_of_work(engine) as s:
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(1)))
        assert eid is not None
        current = {(r.metric, r.period): r.value_num
                   for r in service.with_provenance(s, eid, current=True)}
        assert current[("revenue", 2022)] == Decimal("1510.75")
        history = [(r.metric, r.period, r.value_num)
                   for r in service.with_provenance(s, eid, current=False)]
        assert history == [("revenue", 2022, Decimal("1500"))]
        # before the correction the old value was current; a later read sees the new one
        # last (oldest batch first: the caller keeps the latest)
        before = service.as_of(s, eid, ["revenue"], [2022], datetime(2024, 4, 1, tzinfo=UTC))
        assert [r[2] for r in before] == [Decimal("1500")]
        after = service.as_of(s, eid, ["revenue"], [2022], datetime(2024, 7, 1, tzinfo=UTC))
        assert [r[2] for r in after] == [Decimal("1510.75")]
        assert service.as_of(s, eid, ["revenue"], [2022],
                             datetime(2024, 1, 1, tzinfo=UTC)) == []
        assert service.current_count(s) >= 4


def test_positive_values_leave_out_zero(engine: Engine) -> None:
    _seed(engine)
    with unit_of_work(engine) as s:
        mid = s.scalar(select(Metric.id).where(Metric.code == "rd_expense"))
        ids = set(s.scalars(service.positive_value_ids(mid, 2022)))
        want = set(s.scalars(select(Enterprise.id).where(Enterprise.uscc == uscc(2))))
        assert ids == want  # enterprise 1 reported 0: zero is a value, not "positive"
        assert list(s.scalars(service.positive_value_ids(None, 2022))) == []
