"""The FastAPI application: pages (Jinja2 + HTMX), the JSON API under ``/api/v1`` and static
files, all over the same services.

In front of every route sits :class:`Edge`, one ASGI middleware that, before any body is
stored and before anyone is authenticated:

- believes ``X-Forwarded-For``/``X-Forwarded-Proto`` only from ``trusted_proxies``;
- refuses a body larger than ``max_body_bytes`` (file uploads) or ``max_form_body_bytes``
  (everything else) — by ``Content-Length`` and by counting the bytes actually streamed;
- refuses a NUL in the query or path and a lone UTF-16 surrogate in a JSON body (422);
- admits at most ``web_threads`` requests at a time, letting others wait at most
  ``request_queue_seconds`` before a 503 with ``Retry-After`` (so a request never waits
  for a database connection it cannot get: ``db_pool_size + db_max_overflow`` exceeds it);
- adds the security headers, HSTS and ``Secure`` cookies on HTTPS;
- records every attachment download (exports, problem reports) as a security event.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kechuang.auth import api as auth_api
from kechuang.auth import views as auth_views
from kechuang.auth.actor import Actor
from kechuang.auth.service import record_event
from kechuang.config import Settings, get_settings
from kechuang.db import get_engine, unit_of_work
from kechuang.ingest.service import do_recover_imports
from kechuang.kit.errors import KechuangError, NotAuthenticated
from kechuang.web.deps import CSRFError, allowed_roles_of
from kechuang.web.render import locale_of, render

STATIC_DIR = Path(__file__).parent / "web" / "static"
SWAGGER = "/static/vendor/swagger-ui-5.35.0"
#: the API reference page: vendored Swagger UI started by a script file, so it runs under
#: the app's own content-security policy (no CDN, no inline script)
API_DOCS_HTML = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>kechuang API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css">
<script src="{SWAGGER}/swagger-ui-bundle.js" defer></script>
<script src="/static/api-docs.js" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi="/api/openapi.json"></div>
</body>
</html>
"""
log = logging.getLogger("kechuang.security")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
#: statuses of a refused request that are security events (ASVS V7.1)
REFUSALS = frozenset({401, 403, 404, 429})
#: a JSON escape of a UTF-16 surrogate, with the escapes of a valid pair taken together
_SURROGATE = re.compile(rb"(\\\\)|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
                        rb"|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def has_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON text escapes half of a UTF-16 surrogate pair (``"\\ud800"``): such a
    string cannot be stored (UTF-8 has no encoding for it)."""
    return any(m.group(2) for m in _SURROGATE.finditer(body))


def _problem(status: int, code: str, zh: str, en: str, json_body: bool,
             headers: dict[str, str] | None = None) -> Response:
    if json_body:
        problems = [{"where": "request", "reason": f"{zh} {en}"}]
        return JSONResponse({"error": code, "message": zh, "message_en": en,
                             "details": {"problems": problems}},
                            status_code=status, headers=headers)
    return Response(f"{zh}\n{en}", status_code=status, media_type="text/plain; charset=utf-8",
                    headers=headers)


def overloaded(settings: Settings, json_body: bool) -> Response:
    """503 with ``Retry-After``: the answer to overload, never a 500 or a hang."""
    return _problem(503, "overloaded", "服务器繁忙，请稍后重试",
                    "The server is busy; please retry shortly", json_body,
                    headers={"Retry-After": str(settings.retry_after_seconds)})


class _BodyTooLarge(Exception):
    pass


def _in_networks(host: str, networks: list[Any]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in networks)


class Edge:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings, engine: Engine) -> None:
        self.app = app
        self.settings = settings
        self.engine = engine
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
        self._gates: dict[int, asyncio.Semaphore] = {}

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(id(loop))
        if gate is None:
            gate = self._gates[id(loop)] = asyncio.Semaphore(self.settings.web_threads)
        return gate

    def _from_proxy(self, scope: Scope) -> None:
        client = scope.get("client")
        if not self.proxies or not client or not _in_networks(client[0], self.proxies):
            return
        headers = dict(scope.get("headers") or [])
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        # the nearest hop that is not one of our proxies is the client
        while hops and _in_networks(hops[-1], self.proxies):
            hops.pop()
        if hops:
            scope["client"] = (hops[-1][:64], 0)
        proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._from_proxy(scope)
        path: str = scope.get("path", "")
        json_body = path.startswith("/api/")
        headers = dict(scope.get("headers") or [])
        if b"%00" in scope.get("query_string", b"") or "\x00" in path:
            # PostgreSQL text cannot hold NUL and no field of ours has one: refuse at the edge
            await self._finish(scope, _problem(422, "invalid_input",
                                               "输入无效：请求中含有空字符（NUL）",
                                               "Invalid input: the request contains a NUL",
                                               json_body), receive, send)
            return
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = (self.settings.max_body_bytes if ctype.startswith("multipart/")
                 else self.settings.max_form_body_bytes)
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._finish(scope, self._too_large(limit, json_body), receive, send)
            return
        if path.startswith("/static/"):
            await self.app(scope, receive, self._decorating(scope, send))
            return
        gate = self._gate()
        try:
            await asyncio.wait_for(gate.acquire(), self.settings.request_queue_seconds)
        except TimeoutError:
            await self._finish(scope, overloaded(self.settings, json_body), receive, send)
            return
        try:
            await self._admitted(scope, receive, send, limit, ctype, json_body)
        finally:
            gate.release()

    async def _admitted(self, scope: Scope, receive: Receive, send: Send, limit: int,
                        ctype: str, json_body: bool) -> None:
        seen = 0
        if ctype.startswith("application/json") and scope.get("method") in (
                "POST", "PUT", "PATCH", "DELETE"):
            # small by the limit above: read it whole, check it, hand it on
            chunks = []
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                seen += len(chunks[-1])
                if seen > limit:
                    await self._finish(scope, self._too_large(limit, json_body), receive, send)
                    return
                more = message.get("more_body", False)
            body = b"".join(chunks)
            if has_lone_surrogate(body):
                await self._finish(scope, _problem(
                    422, "invalid_input", "输入无效：JSON 中含有不成对的 UTF-16 代理字符",
                    "Invalid input: the JSON holds a lone UTF-16 surrogate", json_body),
                    receive, send)
                return
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if delivered:
                    return await receive()
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, self._decorating(scope, send))
            return

        started = False
        exceeded = False

        async def counting() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        decorated = self._decorating(scope, send)

        async def tracking(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a body it never got whole is replaced below
            if message["type"] == "http.response.start":
                started = True
            await decorated(message)

        try:
            await self.app(scope, counting, tracking)
        except Exception:
            # the limit may surface as our exception or wrapped by a body parser
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._finish(scope, self._too_large(limit, json_body), receive, send)

    def _too_large(self, limit: int, json_body: bool) -> Response:
        mib = limit / 1024 / 1024
        return _problem(413, "too_large", f"请求体过大（上限 {mib:.1f} MiB）",
                        f"Request body too large (limit {mib:.1f} MiB)", json_body)

    async def _finish(self, scope: Scope, response: Response, receive: Receive,
                      send: Send) -> None:
        await response(scope, receive, self._decorating(scope, send))

    def _decorating(self, scope: Scope, send: Send) -> Send:
        https = scope.get("scheme") == "https"
        settings = self.settings

        async def decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers") or [])
                names = {k.lower() for k, _ in raw}
                extra = [(b"content-security-policy", CSP.encode()),
                         (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"same-origin"),
                         (b"x-frame-options", b"DENY")]
                if https and settings.hsts_seconds:
                    extra.append((b"strict-transport-security",
                                  f"max-age={settings.hsts_seconds}; includeSubDomains".encode()))
                raw += [(k, v) for k, v in extra if k not in names]
                if https or settings.cookie_secure:
                    raw = [(k, v + b"; Secure") if k.lower() == b"set-cookie"
                           and b"secure" not in v.lower() else (k, v) for k, v in raw]
                message = {**message, "headers": raw}
                disposition = next((v for k, v in raw if k.lower() == b"content-disposition"),
                                   None)
                if disposition is not None and disposition.lower().startswith(b"attachment") \
                        and message.get("status", 200) == 200:
                    await self._record_download(scope, disposition.decode("latin-1"))
            await send(message)

        return decorated

    async def _record_download(self, scope: Scope, disposition: str) -> None:
        state = scope.get("state") or {}
        actor = state.get("actor")
        path = scope.get("path", "")
        kind = "download.report" if path.startswith("/import-reports/") else "download.export"
        try:
            await run_in_threadpool(write_security_event, self.engine, kind, actor,
                                    scope.get("client"), scope.get("method"), path, 200,
                                    {"file": disposition[:200]})
        except Exception:  # never lose the download over its log line
            log.exception("could not record a download")


def write_security_event(engine: Engine, kind: str, actor: Actor | None, client: Any,
                         method: str | None, path: str, status: int | None,
                         detail: dict[str, Any] | None) -> None:
    """A security event in a transaction of its own (it outlives the request's rollback)."""
    ip = client[0] if client else None
    with unit_of_work(engine) as session:
        record_event(session, kind, actor=actor, ip=ip, method=method, path=path,
                     status=status, detail=detail)


def _api_routes(routes: Any, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every documented APIRoute with its full path; FastAPI keeps an included router as a
    wrapper (``original_router`` + ``include_context.prefix``), so the walk descends."""
    for route in routes:
        if isinstance(route, APIRoute):
            if route.include_in_schema:
                yield prefix + route.path_format, route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes,
                                   prefix + route.include_context.prefix)


def _document_optional_auth(app: FastAPI) -> None:
    """Operations the public may call (no ``allow``, or ``allow`` with "public") accept a
    request without credentials: their OpenAPI ``security`` also lists the empty
    requirement ``{}``, so the document says so (and a client, or a fuzzer, knows it)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        open_paths: set[tuple[str, str]] = set()
        for path, route in _api_routes(app.routes):
            roles = allowed_roles_of([d.call for d in route.dependant.dependencies
                                      if d.call is not None])
            if roles is None or "public" in roles:
                open_paths |= {(path, m.lower()) for m in route.methods or ()}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                security = operation.get("security")
                if (path, method) in open_paths and security and {} not in security:
                    security.append({})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _recover_imports(engine: Engine) -> None:
    """Undo or finish the long imports a dead process left (kechuang.ingest.loading)."""
    try:
        with unit_of_work(engine) as session:
            done = do_recover_imports(session, Actor.command_line(), session.commit)
        if done:
            log.warning("interrupted imports recovered at start: batches %s", done)
    except Exception:  # a failed recovery must not keep the site down; the next import retries
        log.exception("could not recover interrupted imports")


def create_app(engine: Engine | None = None) -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # threads for synchronous routes: as many as requests admitted, and a few for jobs
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads + 8
        await run_in_threadpool(_recover_imports, app.state.engine)
        yield

    app = FastAPI(
        title="kechuang",
        summary="区域科技创新治理平台 API",
        version="0.1.0",
        docs_url=None,
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine or get_engine()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(API_DOCS_HTML)

    app.include_router(auth_views.router)
    app.include_router(auth_api.router, prefix="/api/v1")
    for module in _domain_modules():
        if hasattr(module, "router"):
            prefix = "/api/v1" if module.__name__.endswith(".api") else ""
            app.include_router(module.router, prefix=prefix)
    app.add_middleware(Edge, settings=settings, engine=app.state.engine)
    _document_optional_auth(app)

    async def _log_refusal(request: Request, exc: KechuangError) -> None:
        if exc.status_code not in REFUSALS:
            return
        kind = "csrf.failed" if isinstance(exc, CSRFError) else f"refused.{exc.status_code}"
        actor = getattr(request.state, "actor", None)
        try:
            await run_in_threadpool(write_security_event, app.state.engine, kind, actor,
                                    request.scope.get("client"), request.method,
                                    request.url.path, exc.status_code, {"error": exc.code})
        except Exception:  # an unwritable log must not turn a 403 into a 500
            log.exception("could not record a refused request")

    @app.exception_handler(KechuangError)
    async def business_error(request: Request, exc: KechuangError) -> Response:
        await _log_refusal(request, exc)
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

    def _busy(request: Request) -> Response:
        return overloaded(settings, _wants_json(request))

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout) -> Response:
        log.warning("no database connection within db_pool_timeout: %s", request.url.path)
        return _busy(request)

    @app.exception_handler(OperationalError)
    async def operational_error(request: Request, exc: OperationalError) -> Response:
        text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        if "database is locked" in text or "lock timeout" in text or "database is busy" in text:
            log.warning("write lock not obtained in time: %s", request.url.path)
            return _busy(request)
        raise exc

    @app.exception_handler(IntegrityError)
    async def concurrent_write(request: Request, exc: IntegrityError) -> Response:
        # two requests raced to write the same row: a conflict to retry, never a 500
        log.warning("integrity error (concurrent write?) at %s: %s", request.url.path,
                    str(exc.orig)[:200])
        message = "数据已被同时修改，请刷新后重试"
        if _wants_json(request):
            return JSONResponse({"error": "conflict", "message": message,
                                 "message_en": "Changed concurrently; reload and retry",
                                 "details": {}}, status_code=409)
        return render(request, "error.html", {"error": exc, "message": message},
                      status_code=409)

    @app.exception_handler(UnicodeEncodeError)
    async def unencodable(request: Request, exc: UnicodeEncodeError) -> Response:
        # a lone surrogate reached a text column (form fields; JSON is refused at the edge)
        problems = [{"where": "request", "reason": "含有无法编码的字符 unencodable character"}]
        if _wants_json(request):
            return JSONResponse({"error": "invalid_input", "message": "输入无效",
                                 "details": {"problems": problems}}, status_code=422)
        return render(request, "error.html",
                      {"error": exc, "message": "输入无效：含有无法编码的字符"}, status_code=422)

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
    names = [
        "kechuang.workbench.views",
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
