"""Reading a rendered page as a reader would: its text nodes, without scripts, styles and
the elements marked as data values (``translate="no"``, the HTML attribute for text that is
not to be translated: names of enterprises, regions, people)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from kechuang.app import _domain_modules
from kechuang.web import i18n

_domain_modules()  # every package's catalogue registered

CJK = re.compile(r"[\u3400-\u9fff]+")
SKIP_TAGS = {"script", "style", "textarea", "pre", "code"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
TEMPLATES = Path(i18n.__file__).parent / "templates"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its content skipped?
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        skip = (tag in SKIP_TAGS or dict(attrs).get("translate") == "no"
                or (bool(self.stack) and self.stack[-1]))
        self.stack.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1]:
            return
        text = " ".join(data.split())
        if text:
            self.nodes.append(text)


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.nodes


def chinese_interface_runs() -> set[str]:
    """Runs of Chinese characters that are interface text: in a Chinese catalogue entry or
    written into a template (two characters or more)."""
    runs: set[str] = set()
    for zh, _en in i18n.MESSAGES.values():
        runs.update(r for r in CJK.findall(zh) if len(r) >= 2)
    for path in TEMPLATES.rglob("*.html"):
        runs.update(r for r in CJK.findall(path.read_text("utf-8")) if len(r) >= 2)
    return runs


def english_labels() -> set[str]:
    """The English labels of the catalogues whose Chinese text is Chinese: a text node of a
    Chinese page that equals one of them is a leftover English label."""
    out = set()
    for zh, en in i18n.MESSAGES.values():
        if not CJK.search(zh) or "{" in en or not re.search(r"[A-Za-z]{3}", en):
            continue
        out.add(en.strip())
    return out
