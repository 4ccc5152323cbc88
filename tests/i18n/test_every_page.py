"""Every page in both languages (issue 11, item 8): every GET page of the role × endpoint
matrix, as every role with the matrix's sample ids, rendered in English must hold no Chinese
interface text, and rendered in Chinese no leftover English label.

Interface text is told apart from data values in two ways: elements marked
``translate="no"`` (names, regions — data) are skipped, and a Chinese run counts only when it
is interface text (in a Chinese catalogue entry or written into a template); an English text
node counts only when it is exactly an English catalogue label. ``KNOWN`` is empty: a
finding that cannot be fixed goes there with its reason."""

from __future__ import annotations

import json
import os

import pytest
from fastapi.testclient import TestClient

from kechuang.web.deps import LANG_COOKIE
from tests.conftest import login
from tests.i18n.pagetext import CJK, chinese_interface_runs, english_labels, text_nodes
from tests.security.test_matrix import (  # noqa: F401  (samples is a fixture)
    ACCOUNT_OF_ROLE,
    ALL,
    EXPECTED,
    _fill,
    _keys,
    _routes,
    samples,
)

#: (path pattern, language, text) findings still to fix: none. Interface text has an English
#: version in its package's catalogue (or its YAML's ``name_en``/``title_en``); data values —
#: names, keywords, synonyms, a file's own column headers, an official document's title and
#: article — are marked ``translate="no"``. Add a line here only with the reason it cannot be
#: fixed.
KNOWN: set[tuple[str, str, str]] = set()
#: pages that are not pages (downloads, partial fragments of data)
NOT_PAGES = (".xlsx", ".csv", ".pdf", "/export", "/download")
#: routes that change the session or the language themselves
SKIPPED = ("/lang/", "/logout")


def _pages(app) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for path, route in _routes(app):
        if (path.startswith(("/api/", *SKIPPED)) or path.endswith(NOT_PAGES)
                or "GET" not in route.methods):
            continue
        out.append(path)
    return sorted(set(out))


def findings(html: str, locale: str, runs: set[str], labels: set[str]) -> list[str]:
    found = []
    for node in text_nodes(html):
        if locale == "en":
            found += [r for r in CJK.findall(node) if r in runs]
        elif node in labels or node.rstrip("：:") in labels:
            found.append(node)
    return found


@pytest.mark.parametrize("role", sorted(ALL))
def test_every_page_in_both_languages(app, engine, samples, role):  # noqa: F811
    runs, labels = chinese_interface_runs(), english_labels()
    client = TestClient(app)
    if role != "public":
        login(client, ACCOUNT_OF_ROLE[role])
    else:
        client.get("/login")  # the anonymous CSRF cookie
    session_cookies = {c.name: c.value for c in client.cookies.jar if c.name != LANG_COOKIE}
    problems = []
    checked = 0
    for path in _pages(app):
        if role not in EXPECTED.get(f"GET {path}", set()):
            continue
        url = _fill(path, samples)
        for locale in ("en", "zh"):
            client.cookies.clear()
            client.cookies.update(session_cookies)
            client.cookies.set(LANG_COOKIE, locale)
            r = client.get(url, follow_redirects=False)
            if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
                continue
            checked += 1
            for text in findings(r.text, locale, runs, labels):
                if os.environ.get("KC_I18N_DUMP"):  # every finding, known or not
                    with open(os.environ["KC_I18N_DUMP"], "a", encoding="utf-8") as f:
                        f.write(json.dumps([path, locale, text], ensure_ascii=False) + "\n")
                if (path, locale, text) not in KNOWN:
                    problems.append(f"{locale} {url}: {text!r}")
    assert checked > 0
    assert not problems, f"{len(problems)} findings:\n" + "\n".join(sorted(set(problems)))


def test_the_reader_skips_data_and_scripts():
    html = ('<p>Points <span translate="no">张家港市</span></p><script>var a = "状态";</script>'
            '<td>状态</td><th>Status</th>')
    assert text_nodes(html) == ["Points", "状态", "Status"]
    runs, labels = chinese_interface_runs(), english_labels()
    assert findings(html, "en", runs, labels) == ["状态"]
    assert findings(html, "zh", runs, labels) == ["Points", "Status"]
