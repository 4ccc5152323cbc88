"""Where import templates come from, in order of precedence:

1. the newest bureau-edited version in the database (``import_template_version``);
2. the folder named by the ``import_templates_dir`` setting;
3. the built-in files in ``kechuang/ingest/templates``.

``--template`` on the command line may also be a path to a YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.ingest import repository as repo
from kechuang.ingest.schemas import ImportTemplate, TemplateError, parse_template
from kechuang.kit import audit
from kechuang.kit.errors import Forbidden, InvalidInput, NotFound
from kechuang.models import ImportTemplateVersion

BUILTIN_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class TemplateEntry:
    template: ImportTemplate
    source: str  # builtin, folder, database, file
    yaml_text: str
    version: int | None = None

    @property
    def name(self) -> str:
        return self.template.name


def _load_dir(folder: Path, source: str) -> dict[str, TemplateEntry]:
    out: dict[str, TemplateEntry] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        text = path.read_text(encoding="utf-8")
        t = parse_template(text, str(path))
        if t.name in out:
            raise TemplateError(str(path), [(None, "name", f"模板名“{t.name}”在 {folder} 中重复")])
        out[t.name] = TemplateEntry(t, source, text)
    return out


@lru_cache(maxsize=1)
def builtin_templates() -> dict[str, TemplateEntry]:
    return _load_dir(BUILTIN_DIR, "builtin")


def folder_templates() -> dict[str, TemplateEntry]:
    folder = get_settings().import_templates_dir
    if not folder:
        return {}
    path = Path(folder)
    if not path.is_dir():
        raise InvalidInput(f"设置 import_templates_dir 指向的目录不存在：{folder}",
                           f"import_templates_dir does not exist: {folder}")
    return _load_dir(path, "folder")


def database_templates(session: Session) -> dict[str, TemplateEntry]:
    rows = repo.newest_templates(session)
    out: dict[str, TemplateEntry] = {}
    for row in rows:
        t = parse_template(row.yaml_text, f"数据库模板 {row.name} 第{row.version}版")
        out[row.name] = TemplateEntry(t, "database", row.yaml_text, row.version)
    return out


def all_templates(session: Session) -> dict[str, TemplateEntry]:
    merged = dict(builtin_templates())
    merged.update(folder_templates())
    merged.update(database_templates(session))
    return dict(sorted(merged.items()))


def templates_for(session: Session, actor: Actor) -> dict[str, TemplateEntry]:
    """A department sees only its own department's templates."""
    entries = all_templates(session)
    if actor.role == "department":
        return {k: v for k, v in entries.items() if v.template.department == actor.department_code}
    return entries


def get_template(session: Session, name_or_path: str) -> TemplateEntry:
    entries = all_templates(session)
    if name_or_path in entries:
        return entries[name_or_path]
    path = Path(name_or_path)
    if name_or_path.endswith((".yaml", ".yml")):
        if not path.is_file():
            raise NotFound(f"模板文件不存在：{name_or_path}",
                           f"Template file not found: {name_or_path}")
        text = path.read_text(encoding="utf-8")
        return TemplateEntry(parse_template(text, str(path)), "file", text)
    raise NotFound(f"导入模板“{name_or_path}”不存在（可用：{'、'.join(entries)}）",
                   f"Import template {name_or_path} does not exist")


def do_save_template(session: Session, actor: Actor, name: str, yaml_text: str
                     ) -> ImportTemplateVersion:
    """Save a bureau-edited version; the YAML must validate and keep its name."""
    if actor.role != "bureau_admin":
        raise Forbidden("只有科技局管理员可以修改导入模板",
                        "Only bureau administrators edit templates")
    template = parse_template(yaml_text, f"模板 {name}")
    if template.name != name:
        raise TemplateError(f"模板 {name}", [(None, "name",
                                              f"name 必须保持为“{name}”，实为“{template.name}”")])
    entries = all_templates(session)
    before = entries.get(name)
    version = repo.next_template_version(session, name)
    row = ImportTemplateVersion(name=name, version=version, department_code=template.department,
                                yaml_text=yaml_text, created_by=actor.user_id)
    repo.add_and_flush(session, row)
    audit.record(session, actor, "import_template.save", "import_template", name,
                 before={"source": before.source, "version": before.version,
                         "yaml": before.yaml_text} if before else None,
                 after={"version": version, "yaml": yaml_text}, region_code=actor.region_code)
    return row
