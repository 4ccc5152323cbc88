"""Every UI string key written literally in any template is registered, in both languages
(the per-package tests add the keys their templates build from values)."""

from __future__ import annotations

import re
from pathlib import Path

from kechuang.web.render import TEMPLATES_DIR


def test_every_literal_key_of_every_template_is_registered_in_both_languages(app):
    from kechuang.web.i18n import MESSAGES  # filled by the domain modules the app loads

    used: dict[str, str] = {}
    for path in Path(TEMPLATES_DIR).rglob("*.html"):
        # a whole key: the literal is the argument (not a prefix joined with ``~ value``)
        for key in re.findall(r"_\(\s*'([a-z][a-z0-9_.]*)'\s*[,)]",
                              path.read_text(encoding="utf-8")):
            used.setdefault(key, str(path.relative_to(TEMPLATES_DIR)))
    assert len(used) > 200
    missing = {k: where for k, where in used.items() if k not in MESSAGES}
    assert not missing, missing
    empty = [k for k in used if not (MESSAGES[k][0] and MESSAGES[k][1])]
    assert not empty, empty
