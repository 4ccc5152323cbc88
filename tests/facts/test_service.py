"""The facts package's reads for other packages: scope, current vs history, as-of, years,
positive values. (The bulk reader ``read_facts`` is tested with the policy runs.)"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
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


def test_a_count_reported_only_when_present_reads_zero_where_its_department_covered(
        engine: Engine) -> None:
    """Missing versus zero (rules/absent.yaml): the science bureau's award count for 2023
    covers the county, so an enterprise of the county it does not list had 0 awards —
    inferred and marked as such; 2022 (no batch) and another county stay unknown."""
    from tests.ingest.helpers import U1, U2, U5, csv_bytes, run_import

    staff = user_actor(engine, "staff")  # a county account: its batches cover the county
    header = ["统一社会信用代码", "年度", "国家级科技奖励数"]
    assert run_import(engine, csv_bytes([header, [U1, 2023, "2"]]), "kjj", actor=staff).ok
    qual = ["统一社会信用代码", "研发机构级别"]
    assert run_import(engine, csv_bytes([qual, [U1, "省级"]]), "kjj-qual", actor=staff).ok
    admin = user_actor(engine, "admin")
    with unit_of_work(engine) as s:
        f = service.read_facts(s, admin, [2022, 2023],
                               codes=["awards_national", "rd_institution_level"])
        other = service.read_facts(s, user_actor(engine, "other_admin"), [2023],
                                   codes=["awards_national", "rd_institution_level"])
    row = {(u, int(y)): i for i, (u, y) in enumerate(zip(f.uscc, f.year, strict=True))}
    awards = f["awards_national"].to_numpy()
    inferred = service.inferred_mask(f, "awards_national")
    assert awards[row[(U1, 2023)]] == 2 and not inferred[row[(U1, 2023)]]  # reported
    assert awards[row[(U2, 2023)]] == 0 and inferred[row[(U2, 2023)]]  # absent: zero
    assert np.isnan(awards[row[(U2, 2022)]]) and not inferred[row[(U2, 2022)]]  # no batch
    level = f["rd_institution_level"].to_numpy()
    assert level[row[(U1, 2023)]] == "province"
    assert level[row[(U2, 2023)]] == "none"
    assert service.inferred_mask(f, "rd_institution_level")[row[(U2, 2023)]]
    # the neighbouring county: the batches of this county do not cover it
    i5 = list(other.uscc).index(U5)
    assert np.isnan(other["awards_national"].to_numpy()[i5])
    assert other["rd_institution_level"].to_numpy()[i5] is None


def test_every_absent_rule_names_a_catalogue_metric_and_a_reason() -> None:
    from kechuang.registry.catalogue import metrics_by_code

    rules = service.absent_rules()
    codes = [r.metric for r in (*rules.zero_when_absent, *rules.none_when_absent)]
    assert len(codes) == len(set(codes)) and set(codes) <= set(metrics_by_code())
    assert all(len(r.reason) > 4 for r in (*rules.zero_when_absent, *rules.none_when_absent))
    for r in rules.none_when_absent:  # the value is one the metric allows
        allowed = metrics_by_code()[r.metric].allowed_values
        assert allowed is None or r.value in allowed


def test_a_run_reads_as_many_years_as_its_deepest_rule() -> None:
    from kechuang.policy import expr
    from kechuang.policy.runs import years_back

    assert expr.lookback(expr.parse("sumn(awards_national, 5) >= 1")) == 4
    assert expr.lookback(expr.parse("lag(growth3(revenue), 1) > 0")) == 3
    assert expr.lookback(expr.parse("revenue > 0")) == 0
    assert years_back() == 4  # 科技型中小企业: "近五年" awards and standards
