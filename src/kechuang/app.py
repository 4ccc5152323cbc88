"""The FastAPI application: pages (Jinja2 + HTMX), the JSON API under ``/api/v1`` and static
files, all over the same services."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kechuang.db import get_engine
from kechuang.kit.errors import KechuangError, NotAuthenticated
from kechuang.web.render import locale_of, render

STATIC_DIR = Path(__file__).parent / "web" / "static"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="kechuang",
        summary="区域科技创新治理平台 API",
        version="0.1.0",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.engine = engine or get_engine()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from kechuang.auth import api as auth_api
    from kechuang.auth import views as auth_views

    app.include_router(auth_views.router)
    app.include_router(auth_api.router, prefix="/api/v1")
    for module in _domain_modules():
        if hasattr(module, "router"):
            prefix = "/api/v1" if module.__name__.endswith(".api") else ""
            app.include_router(module.router, prefix=prefix)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response
        if b"%00" in request.scope.get("query_string", b"") or "\x00" in request.url.path:
            # PostgreSQL text cannot hold NUL and no field of ours has one: refuse at the edge
            problems = [{"where": "query", "reason": "含有空字符（NUL） contains a NUL character"}]
            if _wants_json(request):
                response = JSONResponse({"error": "invalid_input", "message": "输入无效",
                                         "details": {"problems": problems}}, status_code=422)
            else:
                response = Response("输入无效：请求中含有空字符（NUL）", status_code=422,
                                    media_type="text/plain; charset=utf-8")
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.exception_handler(KechuangError)
    async def business_error(request: Request, exc: KechuangError) -> Response:
        locale = locale_of(request)
        if _wants_json(request):
            return JSONResponse(
                {"error": exc.code, "message": exc.message(locale), "details": exc.details},
                status_code=exc.status_code,
            )
        if isinstance(exc, NotAuthenticated) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return render(request, "error.html", {"error": exc, "message": exc.message(locale)},
                      status_code=exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": "http", "message": str(exc.detail)},
                                status_code=exc.status_code)
        message = "页面不存在" if exc.status_code == 404 else str(exc.detail)
        return render(request, "error.html", {"error": exc, "message": message},
                      status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg")}
            for e in exc.errors()
        ]
        if _wants_json(request):
            return JSONResponse({"error": "invalid_input", "message": "输入无效",
                                 "details": {"problems": problems}}, status_code=422)
        message = "；".join(f"{p['where']}：{p['reason']}" for p in problems)
        return render(request, "error.html", {"error": exc, "message": message}, status_code=422)

    return app


def _domain_modules() -> list[Any]:
    """Routers of the domain packages, in a fixed order; a package may have views, api or both."""
    import importlib

    names = [
        "kechuang.registry.views",
        "kechuang.registry.api",
        "kechuang.ingest.views",
        "kechuang.ingest.api",
        "kechuang.admin.views",
        "kechuang.policy.views",
        "kechuang.policy.api",
        "kechuang.jobs.views",
        "kechuang.jobs.api",
        "kechuang.scoring.views",
        "kechuang.scoring.api",
        "kechuang.robustness.views",
        "kechuang.robustness.api",
        "kechuang.profile.views",
        "kechuang.profile.api",
        "kechuang.lists.views",
        "kechuang.lists.api",
        "kechuang.push.views",
        "kechuang.push.api",
        "kechuang.tiers.views",
        "kechuang.tiers.api",
        "kechuang.matching.views",
        "kechuang.matching.api",
        "kechuang.dispatch.views",
        "kechuang.dispatch.api",
        "kechuang.ledger.views",
        "kechuang.ledger.api",
        "kechuang.vouchers.views",
        "kechuang.vouchers.api",
        "kechuang.programs.views",
        "kechuang.programs.api",
        "kechuang.review.views",
        "kechuang.review.api",
        "kechuang.finance.views",
        "kechuang.finance.api",
        "kechuang.monitoring.views",
        "kechuang.monitoring.api",
        "kechuang.carbon.views",
        "kechuang.carbon.api",
    ]
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    return modules
