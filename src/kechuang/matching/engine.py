"""The matcher over the registries: lexical indexes of what both sides made visible, field and
region boosts, explanations, and incremental updates that follow the database.

What is indexed ("the matcher learns nothing secret"): public achievements, public demands
that are still open or matched, and experts whose profile is public (or who have none: the
name, title and fields of an expert are the public directory). A bureau-only record is never
analysed, so no query can surface its words.

Incremental updates: every ``do_*`` change stamps ``updated_at``. Before each query the
index reads, on its own connection (so only committed data counts), the rows whose
``updated_at`` is at or after the start of its previous read minus a safety window, and
adds, replaces or removes those whose stamp it has not applied yet (``LexicalIndex.add`` /
``remove``; scores equal those of a full rebuild). The window covers transactions that
stamped a time before that read but committed after it (transactions shorter than the
window); rows already applied with the same stamp are skipped, so a quiet database costs
one small indexed query per search. So an index in any process (web worker, CLI) catches up
with changes made anywhere, and a rolled-back change never reaches it. A full rebuild is
``kechuang match rebuild`` or the bureau's button.

Boosts: ``score = bm25f × (1 + field_boost · fits + region_boost · same_county)`` where
``fits`` says the supply's technology field serves the demand's industry (field_map.yaml).
Boosts go to strong matches only (``rules/confidence.yaml``), so a boost never lifts a weak
candidate over a strong one; without boosts the order is plain BM25F.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kechuang.config import get_settings
from kechuang.kit.errors import InvalidInput
from kechuang.matching import confidence
from kechuang.matching import fields as fieldmap
from kechuang.matching import repository as repo
from kechuang.matching import text as textmod
from kechuang.matching.index import Document, FieldSpec, LexicalIndex, Params
from kechuang.matching.synonyms import Synonyms
from kechuang.models import Expert
from kechuang.models.matching import Achievement, ExpertProfile, TechDemand

KINDS = ("achievement", "demand", "expert")
#: a change stamped up to this long before the previous read is re-read (late commits)
SAFETY_WINDOW = timedelta(minutes=5)
INDEXED_DEMAND_STATUSES = ("open", "matched")
#: candidates re-ranked with boosts (a boost can lift a candidate at most this far)
DEPTH = 200
#: bumped whenever text analysis changes (a snapshot of other terms is rebuilt)
SNAPSHOT_VERSION = 2
log = logging.getLogger(__name__)


def snapshot_path(engine: Engine) -> Path:
    """Where the indexes of ``engine``'s database are kept between processes: next to a
    SQLite file, else under the ``cache_dir`` setting's ``matching/`` (one file per
    database URL)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".matching.pkl")
    key = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return Path(get_settings().cache_dir) / "matching" / f"registry-{key}.pkl"


def params() -> Params:
    return Params(fields={
        "title": FieldSpec(weight=2.0, b=0.5),
        "text": FieldSpec(weight=1.0, b=0.75),
        "keywords": FieldSpec(weight=1.5, b=0.3),
        "industry": FieldSpec(weight=0.5, b=0.3),
    })


def county_of(region_code: str | None) -> str:
    return (region_code or "")[:6]


@dataclass
class Meta:
    """What boosts and result rows need without another query."""

    title: str
    region: str
    tech_field: str | None = None
    industry_code: str | None = None
    owner: str = ""
    owner_id: int | None = None  # institute (achievement, expert) or enterprise (demand)
    owner_kind: str = ""  # institute or enterprise


@dataclass
class Match:
    kind: str
    id: int
    title: str
    score: float
    lexical: float
    terms: list[str]  # whole words of the query found in the record, strongest first
    fields: list[str]  # codes: title, text, keywords, industry
    synonyms: list[str]
    boosts: list[str]  # codes: field_fit, same_county
    owner: str = ""
    owner_id: int | None = None
    owner_kind: str = ""
    #: the idf-weighted share of the query's words the record contains (0–1)
    confidence: float = 0.0
    #: confidence at or above the calibrated threshold (rules/confidence.yaml)
    strong: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "title": self.title,
                "score": round(self.score, 4), "lexical": round(self.lexical, 4),
                "confidence": round(self.confidence, 4), "strong": self.strong,
                "matched_terms": self.terms, "matched_fields": self.fields,
                "synonyms": self.synonyms, "boosts": self.boosts, "owner": self.owner}


@dataclass
class _Part:
    index: LexicalIndex
    meta: dict[str, Meta] = field(default_factory=dict)
    watermark: datetime | None = None  # the newest stamp seen
    synced_at: datetime | None = None  # wall time at which the last read started
    applied: dict[str, datetime] = field(default_factory=dict)  # id → stamp applied


def _load_synonyms(conn_session: Session) -> Synonyms:
    base = Synonyms.load()
    extra = [[e.canonical, *e.variants] for e in repo.synonym_entries(conn_session)]
    return Synonyms.from_groups([list(g) for g in base.groups] + extra)


class RegistryMatcher:
    """Indexes of one database: achievements, demands, experts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fields = fieldmap.load()
        self.synonyms = Synonyms.load()
        self._synonym_key: tuple[Any, ...] | None = None  # None: not read yet
        self.parts: dict[str, _Part] = {}
        self._lock = threading.RLock()
        self._industry_names: dict[str, str] = {}

    # ----------------------------------------------------------------- documents
    def _industry_text(self, code: str | None) -> str:
        if not code:
            return ""
        names = [self._industry_names.get(code[:n], "") for n in (2, 3, 4) if len(code) >= n]
        return " ".join(n for n in names if n)

    def _achievement_doc(self, a: Achievement, owner: str) -> tuple[Document, Meta]:
        fname = self.fields.name_of(a.tech_field) if a.tech_field else ""
        doc = Document(str(a.id), a.title, a.abstract,
                       {"keywords": f"{a.keywords} {a.discipline}", "industry": fname})
        return doc, Meta(a.title, a.region_code, a.tech_field, None, owner,
                         a.institute_id if a.owner_kind == "institute" else a.enterprise_id,
                         a.owner_kind)

    def _demand_doc(self, d: TechDemand, owner: str) -> tuple[Document, Meta]:
        doc = Document(str(d.id), d.title, f"{d.description}\n{d.targets}",
                       {"keywords": "", "industry": self._industry_text(d.industry_code)})
        return doc, Meta(d.title, d.region_code, None, d.industry_code, owner, d.enterprise_id,
                         "enterprise")

    def _expert_doc(self, e: Expert, p: ExpertProfile | None,
                    owner: str) -> tuple[Document, Meta]:
        flds = " ".join(str(f) for f in (e.fields or []))
        body = p.expertise if p else ""
        doc = Document(str(e.id), f"{e.name} {e.title or ''}", body,
                       {"keywords": f"{flds} {p.keywords if p else ''}", "industry": ""})
        tech = self.fields.classify(flds, body, p.keywords if p else "")
        return doc, Meta(e.name, e.region_code, tech, None, owner, e.institute_id,
                         "institute" if e.institute_id else "")

    def _rows(self, session: Session, kind: str, since: datetime | None
              ) -> Iterable[tuple[str, tuple[Document, Meta] | None, datetime]]:
        """(id, document or None when it must not be indexed, stamp) of changed rows."""
        if kind == "achievement":
            for a, inst_name, ent_name in repo.achievements_since(session, since):
                ok = a.visibility == "public"
                owner = (inst_name if a.owner_kind == "institute" else ent_name) or ""
                yield str(a.id), self._achievement_doc(a, owner) if ok else None, a.updated_at
        elif kind == "demand":
            for d, name in repo.demands_since(session, since):
                ok = d.visibility == "public" and d.status in INDEXED_DEMAND_STATUSES
                yield str(d.id), self._demand_doc(d, name) if ok else None, d.updated_at
        else:
            inst = repo.institute_names(session)
            for e, p in repo.experts_since(session, since):
                stamp = max(e.created_at, p.updated_at) if p else e.created_at
                ok = p is None or p.visibility == "public"
                yield (str(e.id), self._expert_doc(e, p, inst.get(e.institute_id or 0, ""))
                       if ok else None, stamp)

    # ----------------------------------------------------------------- building
    def rebuild(self, kinds: Iterable[str] = KINDS,
                progress: Callable[[str, int, int], None] | None = None,
                persist: bool = True) -> dict[str, int]:
        """Build the indexes from scratch; ``progress(kind, done, total)``. With ``persist``
        the result is written as a snapshot that other processes start from."""
        out: dict[str, int] = {}
        started = datetime.now(UTC)
        with self._lock, Session(self.engine) as session:
            self._industry_names = repo.industry_names(session)
            self._refresh_synonyms(session)
            for kind in kinds:
                docs: list[Document] = []
                meta: dict[str, Meta] = {}
                watermark: datetime | None = None
                applied: dict[str, datetime] = {}
                for doc_id, item, stamp in self._rows(session, kind, None):
                    watermark = stamp if watermark is None or stamp > watermark else watermark
                    applied[doc_id] = stamp
                    if item is not None:
                        docs.append(item[0])
                        meta[doc_id] = item[1]
                index = LexicalIndex(params(), self.synonyms)
                total = len(docs)
                done = 0

                def tick(n: int, kind: str = kind, total: int = total) -> None:
                    nonlocal done
                    done += n
                    if progress is not None:
                        progress(kind, done, total)

                index.rebuild(docs, tick)
                if progress is not None and total == 0:
                    progress(kind, 0, 0)
                self.parts[kind] = _Part(index, meta, watermark, started, applied)
                out[kind] = total
            if persist and len(self.parts) == len(KINDS):
                self._save(session)
        return out

    # ----------------------------------------------------------------- snapshots
    def _fingerprint(self, session: Session, kind: str, watermark: datetime | None
                     ) -> tuple[int, int]:
        """Rows of ``kind`` created up to ``watermark``: (count, max id). Creation times never
        change, so a snapshot stays valid while records are edited (the edits are re-read by
        ``sync``) and is refused for another or a rebuilt database."""
        if watermark is None:
            return (0, 0)
        return repo.created_up_to(session, kind, watermark)

    def _key(self) -> str:
        return repr((SNAPSHOT_VERSION, params(), self.fields))

    def _save(self, session: Session) -> None:
        path = snapshot_path(self.engine)
        data = {"key": self._key(), "parts": {
            k: (p.index, p.meta, p.watermark, self._fingerprint(session, k, p.watermark),
                p.synced_at, p.applied)
            for k, p in self.parts.items()}}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".matching-")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)  # atomic: a reader sees the old or the new snapshot
        except OSError as exc:  # a read-only disk costs a rebuild next time, nothing else
            log.warning("matching index snapshot not written to %s: %s", path, exc)

    def _load(self, session: Session) -> bool:
        """Take the indexes from the snapshot when it belongs to this database and these
        parameters; the caller's ``sync`` then applies what changed since."""
        path = snapshot_path(self.engine)
        try:
            with path.open("rb") as f:
                data = pickle.load(f)  # written only by this module, in our own directory
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return False
        if not isinstance(data, dict) or data.get("key") != self._key():
            return False
        parts = data.get("parts") or {}
        if set(parts) != set(KINDS):
            return False
        for kind, (_, _, watermark, fingerprint, _, _) in parts.items():
            if self._fingerprint(session, kind, watermark) != fingerprint:
                return False
        self.parts = {k: _Part(index, meta, watermark, synced_at, applied)
                      for k, (index, meta, watermark, _, synced_at, applied) in parts.items()}
        for part in self.parts.values():
            part.index.synonyms = self.synonyms
        return True

    def _refresh_synonyms(self, session: Session) -> None:
        rows = repo.synonym_rows(session)
        key = tuple((r[0], r[1], tuple(r[2] or ())) for r in rows)
        if key != self._synonym_key:
            self.synonyms = _load_synonyms(session)
            self._synonym_key = key
            for part in self.parts.values():
                part.index.synonyms = self.synonyms

    def sync(self) -> int:
        """Apply committed changes since the watermark; returns how many rows were re-read."""
        with self._lock:
            if len(self.parts) < len(KINDS):
                with Session(self.engine) as session:
                    self._refresh_synonyms(session)
                    self._industry_names = repo.industry_names(session)
                    loaded = not self.parts and self._load(session)
                if not loaded:
                    self.rebuild([k for k in KINDS if k not in self.parts])
            n = 0
            started = datetime.now(UTC)
            with Session(self.engine) as session:
                self._refresh_synonyms(session)
                for kind, part in self.parts.items():
                    since = (part.synced_at - SAFETY_WINDOW) if part.synced_at else None
                    for doc_id, item, stamp in self._rows(session, kind, since):
                        if part.applied.get(doc_id) == stamp:
                            continue  # re-read inside the window, already applied
                        n += 1
                        if item is None:
                            part.index.remove(doc_id)
                            part.meta.pop(doc_id, None)
                        else:
                            part.index.add(item[0])
                            part.meta[doc_id] = item[1]
                        part.applied[doc_id] = stamp
                        if part.watermark is None or stamp > part.watermark:
                            part.watermark = stamp
                    part.synced_at = started
            return n

    def size(self, kind: str) -> int:
        part = self.parts.get(kind)
        return len(part.index) if part else 0

    # ----------------------------------------------------------------- querying
    def search(self, kind: str, query: str, *, k: int = 10, industry_code: str | None = None,
               tech_field: str | None = None, region_code: str | None = None,
               exclude: set[str] | None = None) -> list[Match]:
        """Rank ``kind`` for ``query`` with boosts: for supplies (achievement, expert) the
        demand's ``industry_code``; for demands the achievement's ``tech_field``."""
        if kind not in KINDS:
            raise InvalidInput(f"未知的匹配类型 {kind}", f"Unknown kind {kind}")
        query = query.strip()
        if not textmod.analyse(query[:textmod.MAX_QUERY_CHARS]):
            raise InvalidInput("检索内容为空：请输入有意义的文字（中文、字母或数字）",
                               "The query has no searchable words")
        query = query[:textmod.MAX_QUERY_CHARS]  # a demand/abstract longer is cut, not refused
        self.sync()
        part = self.parts[kind]
        index = part.index
        scores = index.scores(query)
        hits = index.top(scores, DEPTH + len(exclude or ()))
        fits = self.fields.fields_for_industry(industry_code)
        fitting_prefixes = self.fields.industry_prefixes(tech_field)
        county = county_of(region_code)
        hits = [h for h in hits if not (exclude and h.doc_id in exclude)]
        # boosts (same field, same county) go to strong candidates only: they reorder
        # matches of like quality but never lift a weak candidate over a strong one
        strong: list[bool] = (index.coverage(query, [h.doc_id for h in hits])
                              >= confidence.rule().strong_coverage).tolist() if hits else []
        ranked: list[tuple[float, str, float, list[str]]] = []
        for hit, is_strong in zip(hits, strong, strict=True):
            meta = part.meta[hit.doc_id]
            boost, why = 1.0, []
            if kind == "demand":
                fit = bool(meta.industry_code and fitting_prefixes and any(
                    meta.industry_code.startswith(p) for p in fitting_prefixes))
            else:
                fit = bool(meta.tech_field and meta.tech_field in fits)
            if fit and is_strong:
                boost += self.fields.field_boost
                why.append("field_fit")
            if county and county_of(meta.region) == county and is_strong:
                boost += self.fields.region_boost
                why.append("same_county")
            ranked.append((hit.score * boost, hit.doc_id, hit.score, why))
        ranked.sort(key=lambda r: (-r[0], int(r[1])))
        out = []
        for score, doc_id, lexical, why in ranked[:k]:
            ex = index.explain(query, doc_id)
            meta = part.meta[doc_id]
            out.append(Match(kind, int(doc_id), meta.title, score, lexical,
                             ex.words[:12], ex.fields(), ex.synonyms, why,
                             meta.owner, meta.owner_id, meta.owner_kind,
                             confidence=ex.coverage, strong=confidence.is_strong(ex.coverage)))
        return out


_matchers: dict[int, RegistryMatcher] = {}
_guard = threading.Lock()


def matcher_for(engine: Engine) -> RegistryMatcher:
    """The process's matcher for ``engine`` (built on first use, then kept up to date)."""
    with _guard:
        m = _matchers.get(id(engine))
        if m is None or m.engine is not engine:
            m = _matchers[id(engine)] = RegistryMatcher(engine)
        return m


def engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def warm(engine: Engine) -> None:
    """Build (or read from the snapshot) the process's matching indexes, then bring them up
    to date: run in the background when a server starts, so that the first page that ranks
    matches does not wait for a build of every registry (a minute for the demo county)."""
    try:
        matcher_for(engine).sync()
    except Exception:  # a failed warm-up costs the first search its build, nothing else
        log.exception("matching indexes not warmed")
