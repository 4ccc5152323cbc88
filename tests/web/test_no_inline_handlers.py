"""No inline event handlers and no javascript: URLs in any template: the content-security
policy (script-src 'self') would block them, and they are how markup injection runs."""

from __future__ import annotations

import re
from pathlib import Path

from kechuang.web.render import TEMPLATES_DIR

HANDLER = re.compile(r"<[^>]*\son\w+\s*=", re.IGNORECASE | re.DOTALL)
JS_URL = re.compile(r"javascript\s*:", re.IGNORECASE)


def test_no_template_has_an_inline_handler_or_a_javascript_url():
    templates = list(Path(TEMPLATES_DIR).rglob("*.html"))
    assert len(templates) > 50
    found = []
    for path in templates:
        text = path.read_text("utf-8")
        found += [f"{path.relative_to(TEMPLATES_DIR)}: {m.group(0)[-40:]!r}"
                  for m in HANDLER.finditer(text)]
        found += [f"{path.relative_to(TEMPLATES_DIR)}: javascript: URL"
                  for _ in JS_URL.finditer(text)]
    assert not found, "\n".join(found)


def test_the_patterns_catch_what_they_mean():
    assert HANDLER.search('<button type="button" onclick="go()">')
    assert HANDLER.search("<body\n  onload='x()'>")
    assert not HANDLER.search('<a href="/on=1" data-confirm="x">')
    assert JS_URL.search('<a href="JavaScript:alert(1)">')
