"""Every UI key of the robustness templates is registered, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from kechuang.robustness import i18n as _i18n  # noqa: F401  (registers the strings)
from kechuang.robustness.engine import FACTORS
from kechuang.web.i18n import MESSAGES
from kechuang.web.render import TEMPLATES_DIR


def test_every_key_used_by_the_robustness_templates_is_registered():
    used: set[str] = set()
    for path in Path(TEMPLATES_DIR, "robustness").glob("*.html"):
        used |= set(re.findall(r"_\('((?:robustness|common|app)\.[a-z0-9_.]+)'",
                               path.read_text(encoding="utf-8")))
    used = {k for k in used if not k.endswith(".")}  # a prefix joined with a value
    used |= {f"robustness.factor.{f}" for f in FACTORS} | {"robustness.s1", "robustness.st",
                                                          "robustness.nav"}
    assert len(used) > 30
    missing = used - set(MESSAGES)
    assert not missing, missing
    assert all(MESSAGES[k][0] and MESSAGES[k][1] for k in used)
