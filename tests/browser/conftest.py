"""Browser tests: the real app served by uvicorn on a free local port, over a seeded test
database (the same template as every other test), driven by Playwright in Debian's headless
chromium.

Facts reach the database through the real importer (``kechuang.ingest.service.do_import``)
so that the detail page shows genuine batches.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import insert

from kechuang.db import unit_of_work
from kechuang.models import Enterprise
from tests.support.seed import HOME_TOWN, uscc

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TAX_CSV = (
    "统一社会信用代码,年度,营业收入（万元）,研发费用（万元）\n"
    f"{uscc(1)},2022,1500,80\n"
    f"{uscc(1)},2023,1800.5,95.25\n"
)
BULK = 60  # extra enterprises, so that the list has a second page


@dataclass
class Live:
    url: str
    engine: object
    batch_id: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(engine) -> int:  # type: ignore[no-untyped-def]
    from kechuang.auth.actor import Actor
    from kechuang.ingest.service import do_import

    with unit_of_work(engine) as s:
        s.execute(insert(Enterprise), [
            dict(uscc=uscc(200 + i), name=f"张家港批量测试企业{i:03d}有限公司",
                 region_code=HOME_TOWN, industry_code="3421", founded_on=date(2020, 1, 1))
            for i in range(BULK)
        ])
    with unit_of_work(engine) as s:
        result = do_import(s, Actor.command_line(), TAX_CSV.encode("utf-8"),
                           "税务局2023年度申报.csv", "tax")
        assert result.ok, result
        assert result.batch_id is not None
        return int(result.batch_id)


@pytest.fixture(scope="session")
def live(db_factory) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    import uvicorn

    from kechuang.app import create_app

    engine = db_factory.engine(seeded=True)
    batch_id = _prepare(engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield Live(url=f"http://127.0.0.1:{port}", engine=engine, batch_id=batch_id)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


def log_in(page, live: Live, username: str = "admin",  # type: ignore[no-untyped-def]
           password: str = "test-pass-123") -> None:
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{live.url}/")
    # The request's unit of work commits when FastAPI cleans up its dependencies, which for
    # the default dependency scope is just *after* the response went out; the redirected
    # home page may be rendered before the new session is visible. Reload until it is.
    for _ in range(20):
        if page.locator("[data-testid=whoami]").count():
            return
        page.wait_for_timeout(100)
        page.reload()
    raise AssertionError("logged in, but the session never became visible")
