"""Every UI key of the lists templates is registered, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from kechuang.lists import i18n as _i18n  # noqa: F401  (registers the strings)
from kechuang.web.i18n import MESSAGES
from kechuang.web.render import TEMPLATES_DIR


def test_every_key_used_by_the_lists_templates_is_registered():
    used: set[str] = set()
    for path in Path(TEMPLATES_DIR, "lists").glob("*.html"):
        used |= set(re.findall(r"_\('((?:lists|common)\.[a-z_.]+)'",
                               path.read_text(encoding="utf-8")))
    assert len(used) > 30
    missing = used - set(MESSAGES)
    assert not missing, missing
    assert all(MESSAGES[k][0] and MESSAGES[k][1] for k in used)


def test_the_public_page_speaks_english_when_asked(client):
    client.get("/lang/en")
    page = client.get("/lists")
    assert "Enterprise innovation points lists" in page.text
    assert "企业创新积分榜" not in page.text.split("<main>")[1]
