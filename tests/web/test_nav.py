"""The navigation bar: data registered by the packages, grouped by task (issue 11, item 7)."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

from kechuang.app import _domain_modules
from kechuang.web import nav
from kechuang.web.i18n import MESSAGES
from tests.conftest import login

SRC = Path(nav.__file__).parents[1]


class _Actor:
    is_authenticated = True

    def __init__(self, role: str) -> None:
        self.role = role


def test_at_most_eight_groups_each_labelled_in_both_languages():
    assert len(nav.GROUPS) <= 8
    for group in nav.GROUPS:
        zh, en = MESSAGES[f"nav.group.{group}"]
        assert zh and en


def test_every_registration_names_its_group():
    """Every ``nav.register(...)`` call in every package passes a group (one of GROUPS)."""
    calls = 0
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
                    and getattr(node.func, "attr", getattr(node.func, "id", "")) == "register"):
                continue
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and str(first.value).startswith("/")):
                continue  # another register(), not a link
            calls += 1
            group = node.args[4] if len(node.args) > 4 else next(
                (k.value for k in node.keywords if k.arg == "group"), None)
            assert isinstance(group, ast.Constant), f"{path}:{node.lineno} names no group"
            assert group.value in nav.GROUPS, f"{path}:{node.lineno}: {group.value}"
    assert calls >= 30


def test_an_unknown_group_is_refused():
    try:
        nav.register("/nowhere", "nav.home", {"public"}, 1, "elsewhere")
    except ValueError as exc:
        assert "elsewhere" in str(exc)
    else:
        raise AssertionError("an unknown group was accepted")


def test_groups_for_each_role_are_few_and_ordered():
    _domain_modules()
    for role in ("bureau_admin", "bureau_staff", "department", "enterprise", "institute",
                 "expert", "bank", "public"):
        groups = nav.groups_for(_Actor(role))
        assert 0 < len(groups) <= 8, role
        names = [g.name for g in groups]
        assert names == [g for g in nav.GROUPS if g in names], role
        for g in groups:
            assert all(link.group == g.name and role in link.roles for link in g.links)


def test_the_bar_renders_groups_as_menus_without_scripts_in_the_markup(client: TestClient):
    login(client, "admin")
    html = client.get("/").text
    bar = html.split('<nav id="mainnav"')[1].split("</nav>")[0]
    assert bar.count("<details") == bar.count("<summary>") >= 5
    assert "onclick" not in bar and "javascript:" not in bar
    assert 'href="/scoring"' in bar and 'href="/audit"' in bar
