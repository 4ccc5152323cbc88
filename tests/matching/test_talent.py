"""Talent pool entries are personal data: the bureau sees them, an enterprise only the people
who applied to one of its positions, nobody else — in the service and on the page."""

from __future__ import annotations

import pytest

from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput
from kechuang.matching import service
from kechuang.models import AuditEvent
from tests.matching.helpers import actor, add_enterprise_account

CONTACT = "138-0000-1234"


@pytest.fixture
def pool(engine):  # type: ignore[no-untyped-def]
    add_enterprise_account(engine)
    with unit_of_work(engine) as s:
        pos1 = service.do_create_position(s, actor(s, "ent1"), {
            "title": "封装工艺工程师", "field": "微电子", "degree": "硕士", "count": "2",
            "industry_chain": "集成电路"})
        pos2 = service.do_create_position(s, actor(s, "ent2"), {
            "title": "材料研发工程师", "field": "材料", "degree": "博士"})
        entry = service.do_create_talent_entry(s, actor(s, "staff"), {
            "name": "李明", "field": "微电子", "degree": "硕士", "contact": CONTACT})
        return {"pos1": pos1.id, "pos2": pos2.id, "entry": entry.id}


def names(engine, username: str) -> list[str]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return [e.name for e in service.talent_entries(s, actor(s, username))]


def test_entries_visible_to_bureau_and_applied_to_enterprise_only(engine, pool):
    assert names(engine, "staff") == ["李明"]
    for who in ("ent1", "ent2", "inst", "expert", "bank", "tax", "other_admin"):
        assert names(engine, who) == [], who
    with unit_of_work(engine) as s:
        service.do_apply(s, actor(s, "staff"), pool["entry"], pool["pos1"])
        with pytest.raises(Conflict):
            service.do_apply(s, actor(s, "staff"), pool["entry"], pool["pos1"])
    assert names(engine, "ent1") == ["李明"]
    assert names(engine, "ent2") == []  # applied to ent1's position, not ent2's


def test_only_the_bureau_records_people_and_the_audit_keeps_no_contact(engine, pool):
    with unit_of_work(engine) as s:
        for who in ("ent1", "inst"):
            with pytest.raises(Forbidden):
                service.do_create_talent_entry(s, actor(s, who), {
                    "name": "王", "field": "x", "contact": "y"})
        with pytest.raises(Forbidden):
            service.do_apply(s, actor(s, "ent1"), pool["entry"], pool["pos1"])
        with pytest.raises(InvalidInput, match="联系方式：不能为空"):
            service.do_create_talent_entry(s, actor(s, "staff"), {"name": "王", "field": "x"})
        rows = s.query(AuditEvent).filter(AuditEvent.object_type == "talent_entry").all()
        assert rows and all(CONTACT not in str(r.after) and "李明" not in str(r.after)
                            for r in rows)


def test_talent_page_shows_contacts_only_where_allowed(client, login_as, engine, pool):
    assert CONTACT not in client.get("/matching/talent").text  # public: positions only
    assert "封装工艺工程师" in client.get("/matching/talent").text
    login_as("ent1")
    assert CONTACT not in client.get("/matching/talent").text
    login_as("staff")
    assert CONTACT in client.get("/matching/talent").text
    with unit_of_work(engine) as s:
        service.do_apply(s, actor(s, "staff"), pool["entry"], pool["pos1"])
    login_as("ent1")
    assert CONTACT in client.get("/matching/talent").text
