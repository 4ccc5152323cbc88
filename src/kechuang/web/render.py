"""Rendering pages: Jinja2 with the i18n function, the actor and the CSRF token in context.

Templates live in ``kechuang/web/templates``; a folder named by ``ui_templates_dir`` is
searched first, so an installation can override any page or partial (``_*.html``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from kechuang.config import get_settings
from kechuang.kit.timefmt import local
from kechuang.web.deps import LANG_COOKIE, anon_csrf_token
from kechuang.web.i18n import LOCALES, translate
from kechuang.web.nav import groups_for, links_for

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: "does this database hold the demo?" — answered by a higher layer (the workbench package
#: sets it), asked only by the pages that show the demo password hint
_demo_probe: list[Callable[[Request], bool]] = []


def set_demo_probe(probe: Callable[[Request], bool]) -> None:
    _demo_probe[:] = [probe]


def holds_demo(request: Request) -> bool:
    return bool(_demo_probe) and _demo_probe[0](request)


def fmt_decimal(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "—"
    q = Decimal(1).scaleb(-places)
    text = f"{value.quantize(q):,}" if value == value.to_integral_value() or places else str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    dirs = [str(TEMPLATES_DIR)]
    override = get_settings().ui_templates_dir
    if override:
        dirs.insert(0, override)
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(d) for d in dirs]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["localtime"] = local
    env.filters["dec"] = fmt_decimal
    env.globals["nav_links"] = links_for
    env.globals["nav_groups"] = groups_for
    return Jinja2Templates(env=env)


def locale_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE)
    if lang in LOCALES:
        return lang
    actor = getattr(request.state, "actor", None)
    if actor is not None and actor.locale in LOCALES:
        return str(actor.locale)
    return get_settings().default_locale


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    locale = locale_of(request)
    actor = getattr(request.state, "actor", None)
    csrf = actor.csrf_token if actor is not None and actor.csrf_token else anon_csrf_token(request)
    ctx = {
        "request": request,
        "actor": actor,
        "locale": locale,
        "csrf_token": csrf,
        "_": lambda key, **kw: translate(key, locale, **kw),
        "is_htmx": request.headers.get("hx-request") == "true",
        "holds_demo": lambda: holds_demo(request),
        **(context or {}),
    }
    response = templates().TemplateResponse(request, name, ctx, status_code=status_code,
                                            headers=headers)
    _set_anon_csrf_cookie(request, response)
    return response


def _set_anon_csrf_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "set_anon_csrf", None)
    if token and request.cookies.get("kc_csrf") != token:
        response.set_cookie("kc_csrf", token, httponly=True, samesite="lax",
                            secure=get_settings().cookie_secure)
