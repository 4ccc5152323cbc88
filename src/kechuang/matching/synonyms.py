"""The bureau-editable synonym and abbreviation dictionary (``data/synonyms.yaml``).

Expansion happens on the query only: the corpus is indexed as written, so editing the
dictionary takes effect at the next query without re-indexing. A group member found in the
normalised query (as a substring, so it works whatever jieba's segmentation) adds the other
members' terms at a reduced weight, never above the weight of words actually typed.
The entries are deliberately not added to jieba's word list: that would change how
documents are segmented, and documents indexed before and after an edit would disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from kechuang.kit import rules
from kechuang.kit.errors import InvalidInput
from kechuang.matching import text as textmod


@dataclass(frozen=True)
class Synonyms:
    groups: tuple[tuple[str, ...], ...] = ()
    _index: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_groups(cls, groups: list[list[str]]) -> Synonyms:
        clean: list[tuple[str, ...]] = []
        index: dict[str, list[int]] = {}
        for group in groups:
            members = tuple(dict.fromkeys(textmod.normalise(str(m)).strip() for m in group))
            members = tuple(m for m in members if m)
            if len(members) < 2:
                continue
            for member in members:
                index.setdefault(member, []).append(len(clean))
            clean.append(members)
        return cls(tuple(clean), {k: tuple(v) for k, v in index.items()})

    @classmethod
    def load(cls, path: Path | None = None) -> Synonyms:
        """The dictionary at ``path``, or the one shipped with the package."""
        if path is None:
            raw = resources.files("kechuang.matching").joinpath("data/synonyms.yaml").read_text(
                encoding="utf-8")
            where = "synonyms.yaml"
        else:
            raw, _ = rules.read_text(path)
            where = str(path)
        # the one rule loader: syntax errors and duplicate keys name the file and the line
        data = rules.parse_yaml(raw, where) or {}
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise InvalidInput(f"同义词词典 {where} 须有 groups: 列表，每组为一个词语列表。",
                               f"Synonym dictionary {where} needs groups: a list of lists.")
        return cls.from_groups(groups)

    def expansions(self, query: str) -> list[str]:
        """Members of the groups whose terms occur in ``query`` and that it does not contain."""
        norm = textmod.normalise(query)
        found: list[str] = []
        for member, group_ids in self._index.items():
            if not _contains(norm, member):
                continue
            for gid in group_ids:
                for other in self.groups[gid]:
                    if other not in norm and other not in found:
                        found.append(other)
        return found


def _contains(text: str, member: str) -> bool:
    """Substring test; a Latin member (AI, IC) must stand alone, not inside another word."""
    if member.isascii():
        return member in set(textmod.analyse(text, bigrams=False)) or (
            " " in member and member in text)
    return member in text
