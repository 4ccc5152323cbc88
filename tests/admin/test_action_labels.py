"""Audit actions in words (issue 11, item 8): every action code the code base writes with
``kechuang.kit.audit.record`` has a label in both languages."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

import kechuang
from kechuang.admin.actions import ACTIONS, FAMILIES, action_label
from tests.conftest import login

SRC = Path(kechuang.__file__).parent


def written_codes() -> tuple[set[str], set[str]]:
    """(literal codes, constant prefixes of codes built at run time) of every
    ``audit.record(session, actor, <code>, …)`` call, and the literal actions passed to
    functions that record them for their caller (``find_enterprise(…, "<code>")``)."""
    codes: set[str] = set()
    prefixes: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "record" and \
                    isinstance(f.value, ast.Name) and f.value.id == "audit":
                arg = node.args[2] if len(node.args) > 2 else None
            elif isinstance(f, ast.Name) and f.id == "find_enterprise" and len(node.args) > 3:
                arg = node.args[3]
            else:
                continue
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes.add(arg.value)
            elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                prefixes.add(str(arg.values[0].value))
            elif isinstance(arg, ast.Name):
                continue  # passed through (find_enterprise's own parameter)
            else:
                raise AssertionError(f"{path}:{node.lineno}: an action code this test cannot "
                                     "read; write it as a literal or an f-string with a "
                                     "literal prefix")
    return codes, prefixes


def test_every_action_code_written_has_a_label():
    codes, prefixes = written_codes()
    assert len(codes) > 100
    missing = sorted(c for c in codes if c not in ACTIONS)
    assert not missing, f"add labels to kechuang/admin/actions.py: {missing}"
    families = sorted(p for p in prefixes if p not in FAMILIES)
    assert not families, f"add families to kechuang/admin/actions.py: {families}"


def test_labels_read_in_both_languages():
    assert action_label("scoring.run", "zh") == "运行积分测算"
    assert action_label("scoring.run", "en") == "Scoring run"
    assert action_label("programs.call.open", "zh") == "申报通知状态变更：发布"
    assert action_label("programs.pay.tranche", "en") == "Programme payment: tranche"
    assert action_label("unheard.of", "en") == "unheard.of"
    for zh, en in ACTIONS.values():
        assert zh and en and zh != en


def test_the_audit_log_shows_labels(app):
    client = TestClient(app)
    login(client, "admin")
    html = client.get("/audit").text
    assert "登录" in html and ">session.login<" not in html
