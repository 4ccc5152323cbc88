"""The registry matcher: only public records, incremental updates that follow committed
changes, field and region boosts, explanations, the bureau's synonyms, bad queries."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from kechuang.db import unit_of_work
from kechuang.kit.errors import InvalidInput
from kechuang.matching import fields as fieldmap
from kechuang.matching import service
from kechuang.matching.engine import matcher_for
from kechuang.models.matching import Achievement
from tests.matching.helpers import achievement_data, actor, demand_data


def add(engine, username="inst", **data):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return service.do_create_achievement(s, actor(s, username), achievement_data(**data)).id


def ids(hits) -> list[int]:  # type: ignore[no-untyped-def]
    return [h.id for h in hits]


def test_bureau_only_records_are_never_indexed(engine):
    secret = add(engine, title="钽铌合金靶材", abstract="钽铌合金溅射靶材制备", keywords="钽铌",
                 visibility="bureau_only")
    m = matcher_for(engine)
    assert m.search("achievement", "钽铌合金靶材") == []
    with unit_of_work(engine) as s:
        service.do_set_achievement_visibility(s, actor(s, "inst"), secret, "public")
    assert ids(m.search("achievement", "钽铌合金靶材")) == [secret]
    with unit_of_work(engine) as s:  # made secret again: gone at the next query
        service.do_set_achievement_visibility(s, actor(s, "inst"), secret, "bureau_only")
    assert m.search("achievement", "钽铌合金靶材") == []


def test_demands_indexed_only_while_public_and_open(engine):
    with unit_of_work(engine) as s:
        ent1 = actor(s, "ent1")
        open_ = service.do_create_demand(s, ent1, demand_data(title="钛合金焊接变形"))
        hidden = service.do_create_demand(s, ent1, demand_data(title="钛合金焊接气孔",
                                                               visibility="bureau_only"))
        open_id, hidden_id = open_.id, hidden.id
    m = matcher_for(engine)
    assert ids(m.search("demand", "钛合金焊接")) == [open_id]
    with unit_of_work(engine) as s:
        service.do_transition_demand(s, actor(s, "ent1"), open_id, "closed")
    assert m.search("demand", "钛合金焊接") == []
    assert hidden_id not in ids(m.search("demand", "钛合金焊接气孔"))


def test_incremental_add_without_rebuild_and_rollback_never_reaches_the_index(engine):
    first = add(engine, title="锂电池正极材料包覆改性")
    m = matcher_for(engine)
    assert ids(m.search("achievement", "正极材料")) == [first]
    size = m.size("achievement")
    second = add(engine, title="锂电池正极材料高温烧结")
    assert set(ids(m.search("achievement", "正极材料"))) == {first, second}
    assert m.size("achievement") == size + 1
    with pytest.raises(RuntimeError), unit_of_work(engine) as s:
        service.do_create_achievement(s, actor(s, "inst"),
                                      achievement_data(title="正极材料回收工艺"))
        raise RuntimeError("the caller's unit of work fails")
    assert set(ids(m.search("achievement", "正极材料"))) == {first, second}
    counts = m.rebuild()
    assert counts["achievement"] == m.size("achievement") == size + 1


def test_boosts_field_fit_and_same_county_multiply_the_lexical_score(engine):
    text = {"title": "功率器件封装散热", "abstract": "封装散热结构", "keywords": "封装"}
    fitting, other = add(engine, **text), add(engine, **text)
    with unit_of_work(engine) as s:  # same text, different fields
        now = datetime.now(UTC)
        s.execute(update(Achievement).where(Achievement.id == fitting)
                  .values(tech_field="it", updated_at=now))
        s.execute(update(Achievement).where(Achievement.id == other)
                  .values(tech_field="agriculture", updated_at=now))
    fm = fieldmap.load()
    assert "it" in fm.fields_for_industry("3973")
    hits = {h.id: h for h in matcher_for(engine).search(
        "achievement", "封装散热", industry_code="3973", region_code="320582100")}
    a, b = hits[fitting], hits[other]
    assert a.lexical == pytest.approx(b.lexical)
    assert a.score == pytest.approx(a.lexical * (1 + fm.field_boost + fm.region_boost))
    assert b.score == pytest.approx(b.lexical * (1 + fm.region_boost))
    assert a.boosts == ["field_fit", "same_county"] and b.boosts == ["same_county"]
    # no region given: no region boost
    far = {h.id: h for h in matcher_for(engine).search("achievement", "封装散热",
                                                        industry_code="3973")}
    assert far[other].score == pytest.approx(far[other].lexical)


def test_a_weak_candidate_gets_no_boost_so_it_never_passes_a_strong_one(engine):
    strong_id = add(engine, title="功率器件封装散热", abstract="封装散热结构", keywords="封装")
    weak_id = add(engine, title="封装工艺综述", abstract="各类电子封装，涉及陶瓷、塑料、引线键合、"
                  "焊料、可靠性、成本、市场等方面的综述", keywords="封装")
    with unit_of_work(engine) as s:  # the weak one fits the demand's field, the strong one not
        now = datetime.now(UTC)
        s.execute(update(Achievement).where(Achievement.id == weak_id)
                  .values(tech_field="it", updated_at=now))
        s.execute(update(Achievement).where(Achievement.id == strong_id)
                  .values(tech_field="agriculture", updated_at=now))
    query = "功率器件封装散热"
    hits = matcher_for(engine).search("achievement", query, industry_code="3973",
                                      region_code="320582100")
    by_id = {h.id: h for h in hits}
    weak, strong = by_id[weak_id], by_id[strong_id]
    assert strong.strong and not weak.strong
    assert weak.boosts == [] and weak.score == pytest.approx(weak.lexical)
    assert strong.boosts == ["same_county"]
    assert [h.id for h in hits].index(strong_id) < [h.id for h in hits].index(weak_id)


def test_results_explain_terms_and_fields(engine):
    aid = add(engine, title="氮化镓功率芯片", abstract="用于快充电源", keywords="宽禁带 半导体")
    [hit] = [h for h in matcher_for(engine).search("achievement", "氮化镓 半导体") if h.id == aid]
    assert "氮化" in hit.terms and "半导体" in hit.terms  # jieba: 氮化 + 镓
    assert "title" in hit.fields and "keywords" in hit.fields
    assert hit.as_dict()["matched_terms"] == hit.terms


def test_bureau_synonyms_expand_queries_at_once(engine):
    aid = add(engine, title="氮化铝陶瓷基板", abstract="导热基板", keywords="陶瓷")
    m = matcher_for(engine)
    assert aid not in ids(m.search("achievement", "AlN"))
    with unit_of_work(engine) as s:
        service.do_add_synonyms(s, actor(s, "staff"), "氮化铝，AlN")
    [hit] = [h for h in m.search("achievement", "AlN") if h.id == aid]
    assert "氮化铝" in hit.synonyms
    with unit_of_work(engine) as s, pytest.raises(InvalidInput, match="至少需要两个词"):
        service.do_add_synonyms(s, actor(s, "staff"), "孤词")


@pytest.mark.parametrize("query", ["", "   ", "！？。，——", "\x00\x01"])
def test_empty_queries_are_refused_clearly(engine, query):
    with pytest.raises(InvalidInput, match="检索内容为空"):
        matcher_for(engine).search("achievement", query)


def test_huge_mixed_script_and_full_width_queries(engine):
    aid = add(engine, title="PM2.5 在线监测仪", abstract="大气细颗粒物 PM2.5 的激光散射监测",
              keywords="PM2.5 监测")
    m = matcher_for(engine)
    assert aid in ids(m.search("achievement", "ＰＭ２．５监测"))  # full-width
    assert aid in ids(m.search("achievement", "laser 散射 monitoring PM2.5 Мониторинг"))
    huge = "细颗粒物监测 " + "无关文字" * 20_000  # 80k characters: cut to the limit, not refused
    assert aid in ids(m.search("achievement", huge))


def test_a_new_process_starts_from_the_snapshot_and_catches_up(engine):
    from kechuang.matching.engine import RegistryMatcher, snapshot_path

    first = add(engine, title="碳化硅外延片缺陷检测")
    built = RegistryMatcher(engine)
    built.rebuild()
    assert snapshot_path(engine).exists()
    if engine.url.get_backend_name() != "sqlite":  # a server database's: in the cache dir
        assert snapshot_path(engine).is_relative_to(os.environ["KECHUANG_CACHE_DIR"])
    later = add(engine, title="碳化硅衬底抛光")  # after the snapshot
    fresh = RegistryMatcher(engine)  # as another worker would
    calls: list[str] = []
    original = fresh.rebuild
    fresh.rebuild = lambda *a, **k: calls.append("rebuild") or original(*a, **k)  # type: ignore[method-assign]
    assert set(ids(fresh.search("achievement", "碳化硅"))) == {first, later}
    assert calls == []  # loaded, not rebuilt
    # a snapshot that does not fit the database (a record it never saw now dates from
    # before its watermark, as after a reset and reload) is refused and the index rebuilt
    with unit_of_work(engine) as s:
        s.execute(update(Achievement).where(Achievement.id == later).values(
            created_at=datetime(2000, 1, 1, tzinfo=UTC)))
    stale = RegistryMatcher(engine)
    with unit_of_work(engine) as s:
        stale._refresh_synonyms(s)
        assert stale._load(s) is False
    assert set(ids(stale.search("achievement", "碳化硅"))) == {first, later}
    snapshot_path(engine).write_bytes(b"not a pickle")
    broken = RegistryMatcher(engine)
    assert set(ids(broken.search("achievement", "碳化硅"))) == {first, later}


def test_the_server_warms_the_indexes_at_start(engine):
    """``kechuang.asgi`` runs ``warm`` in the background: afterwards the process's matcher
    holds every registry and its snapshot is on disk, so no page builds them."""
    from kechuang.matching.engine import KINDS, snapshot_path, warm

    aid = add(engine, title="锂电池隔膜涂覆")
    snapshot_path(engine).unlink(missing_ok=True)
    warm(engine)
    m = matcher_for(engine)
    assert set(m.parts) == set(KINDS) and snapshot_path(engine).exists()
    calls: list[str] = []
    m.rebuild = lambda *a, **k: calls.append("rebuild")  # type: ignore[method-assign]
    assert aid in ids(m.search("achievement", "隔膜"))
    assert calls == []
