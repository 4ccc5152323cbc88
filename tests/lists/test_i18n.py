"""The lists pages in English (that every template key is registered in both languages is
checked for all templates by tests/test_i18n.py)."""

from __future__ import annotations

from kechuang.lists import i18n as _i18n  # noqa: F401  (registers the strings)


def test_the_public_page_speaks_english_when_asked(client):
    client.get("/lang/en")
    page = client.get("/lists")
    assert "Enterprise innovation points lists" in page.text
    assert "企业创新积分榜" not in page.text.split("<main>")[1]
