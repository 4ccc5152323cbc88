"""No blocking work on the event loop (issue 17 item 1). ``POST /matching/imports`` was an
``async def`` doing synchronous database work: an institute importing 3,000 achievements
froze the server. Two checks: the source (AST) of every route, and the running application
(every database statement of every page an administrator opens runs off the loop)."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event

from kechuang.app import create_app
from tests.conftest import login
from tests.security.test_matrix import _fill, _keys, _routes, samples  # noqa: F401

SRC = Path(__file__).parents[2] / "src" / "kechuang"
ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "api_route"}
#: calls that hand work to a thread (allowed to receive the session inside an async route)
OFFLOADERS = {"run_in_threadpool", "run_sync", "to_thread"}
#: names that stand for a database session or blocking work in a route's body
BLOCKING_ARGS = {"db", "session"}


def _is_route(fn: ast.AsyncFunctionDef) -> bool:
    for dec in fn.decorator_list:
        call = dec if isinstance(dec, ast.Call) else None
        func = call.func if call else dec
        if isinstance(func, ast.Attribute) and func.attr in ROUTE_DECORATORS:
            return True
    return False


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def blocking_calls(tree: ast.AST) -> list[tuple[str, int]]:
    """(route, line) of every call inside an ``async def`` route that passes the database
    session (or calls ``.file.read()``/``open``) without handing it to a thread."""
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.AsyncFunctionDef) or not _is_route(fn):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call) or _name(node.func) in OFFLOADERS:
                continue
            args = list(node.args) + [k.value for k in node.keywords]
            passes_db = any(isinstance(a, ast.Name) and a.id in BLOCKING_ARGS for a in args)
            on_db = isinstance(node.func, ast.Attribute) and _name(node.func.value) in \
                BLOCKING_ARGS
            offloaded = any(isinstance(p, ast.Call) and _name(p.func) in OFFLOADERS
                            and node in p.args for p in ast.walk(fn))
            if (passes_db or on_db or _name(node.func) == "open") and not offloaded:
                found.append((fn.name, node.lineno))
    return found


def test_no_async_route_does_database_work_on_the_event_loop():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(SRC)}:{line} {name}"
                      for name, line in blocking_calls(tree)]
    assert offenders == []


def test_the_check_catches_the_reproduction():
    """The old ``POST /matching/imports`` is caught; the same work handed to a thread is not."""
    old = ast.parse(
        "@router.post('/matching/imports')\n"
        "async def import_file(request, db, actor, file):\n"
        "    data = await file.read()\n"
        "    n = imports.do_import(db, actor, 'x', data, file.filename)\n")
    assert blocking_calls(old) == [("import_file", 4)]
    fixed = ast.parse(
        "@router.post('/x')\n"
        "async def f(request, db, actor):\n"
        "    form = await request.form()\n"
        "    r = await run_in_threadpool(service.work, db, actor)\n")
    assert blocking_calls(fixed) == []


def test_every_page_queries_the_database_off_the_event_loop(engine, samples):  # noqa: F811
    on_loop: list[str] = []

    def check(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: fine
        on_loop.append(statement[:80])

    event.listen(engine, "before_cursor_execute", check)
    try:
        app = create_app(engine)
        client = TestClient(app)
        csrf = login(client, "admin")
        for path, route in _routes(app):
            for key in _keys(path, route):
                method = key.split()[0]
                if method != "GET" and key not in {"POST /matching/imports",
                                                   "POST /lists/{run_id}/dividends"}:
                    continue
                client.request(method, _fill(path, samples), headers={"X-CSRF-Token": csrf},
                               files={"file": ("a.csv", b"title\nx\n")} if method == "POST"
                               else None, follow_redirects=False)
    finally:
        event.remove(engine, "before_cursor_execute", check)
    assert on_loop == []
