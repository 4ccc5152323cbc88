"""Pages of precise push: the enterprise's inbox (its own messages only: read, apply,
mute), the bureau's review of draft batches (preview, drop, edit, send) and its
reach-and-conversion page (funnel chart, grants, export)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kechuang.kit.errors import InvalidInput
from kechuang.policy.loader import builtin_policies
from kechuang.push import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.push import service
from kechuang.push.schemas import BATCH_STATUSES, KINDS, SendBatchIn
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow
from kechuang.web.i18n import translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

ENTERPRISE = "enterprise"

nav.register("/push/inbox", "push.inbox", {ENTERPRISE}, 15, "policy")
nav.register("/push", "push.title", BUREAU, 42, "policy")
nav.register("/push/batches", "push.batches", BUREAU, 43, "policy")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _policy_names(locale: str = "zh") -> dict[str, str]:
    """Policy names in the reader's language (a policy's ``name_en`` on English pages)."""
    en = locale == "en"
    names = {pid: (lp.policy.name_en or lp.policy.name) if en else lp.policy.name
             for pid, lp in builtin_policies().items()}
    names[service.LEADING] = translate("push.leading", locale)
    return names


@router.get("/push/inbox", dependencies=[allow(ENTERPRISE)])
def inbox_page(request: Request, db: DB, actor: CurrentActor):
    messages = service.inbox(db, actor)
    unread = {m.id for m in messages if m.opened_at is None}
    service.do_mark_opened(db, actor, messages)
    return render(request, "push/inbox.html", {
        "messages": messages, "unread": unread, "muted": service.muted_policies(db, actor),
        "policies": _policy_names(locale_of(request))})


@router.post("/push/messages/{message_id}/apply", dependencies=[allow(ENTERPRISE)])
def apply(request: Request, db: DB, actor: CurrentActor, message_id: RowId):
    msg = service.do_apply(db, actor, message_id)
    if _is_htmx(request):
        return render(request, "push/_message.html", {
            "m": msg, "unread": set(), "policies": _policy_names(locale_of(request))})
    return RedirectResponse("/push/inbox", status_code=303)


@router.post("/push/mutes", dependencies=[allow(ENTERPRISE)])
def mute(db: DB, actor: CurrentActor, policy_id: Annotated[str, Form()]):
    service.do_mute(db, actor, policy_id)
    return RedirectResponse("/push/inbox", status_code=303)


@router.post("/push/mutes/{policy_id}/delete", dependencies=[allow(ENTERPRISE)])
def unmute(db: DB, actor: CurrentActor, policy_id: str):
    service.do_unmute(db, actor, policy_id)
    return RedirectResponse("/push/inbox", status_code=303)


def _clean(value: str | None, allowed: set[str]) -> str | None:
    return value if value in allowed else None


@router.get("/push", dependencies=[allow(BUREAU)])
def bureau_page(request: Request, db: DB, actor: CurrentActor, policy: str | None = None,
                kind: str | None = None, exported: int | None = None):
    rows = service.funnel(db, actor)
    totals = service.funnel_totals(rows)
    names = _policy_names(locale_of(request))
    policy = _clean(policy, set(names))
    kind = _clean(kind, set(KINDS))
    chart = {"labels": ["推送 pushed", "已读 opened", "申请 applied", "获批 granted"],
             "values": [totals["pushed"], totals["opened"], totals["applied"],
                        totals["granted"]]}
    return render(request, "push/bureau.html", {
        "rows": rows, "totals": totals, "chart": chart, "policies": names, "kinds": KINDS,
        "filters": {"policy": policy, "kind": kind}, "rate": service.rate_text,
        "messages": service.bureau_messages(db, actor, policy, kind),
        "exported": exported})


@router.get("/push/messages", dependencies=[allow(BUREAU)])
def bureau_messages(request: Request, db: DB, actor: CurrentActor, policy: str | None = None,
                    kind: str | None = None):
    names = _policy_names(locale_of(request))
    policy = _clean(policy, set(names))
    kind = _clean(kind, set(KINDS))
    return render(request, "push/_bureau_rows.html", {
        "messages": service.bureau_messages(db, actor, policy, kind), "policies": names})


@router.post("/push/messages/{message_id}/grant", dependencies=[allow(BUREAU)])
def grant(request: Request, db: DB, actor: CurrentActor, message_id: RowId):
    service.do_grant(db, actor, message_id)
    if _is_htmx(request):
        return render(request, "push/_bureau_rows.html", {
            "messages": service.bureau_messages(db, actor),
            "policies": _policy_names(locale_of(request))})
    return RedirectResponse("/push", status_code=303)


@router.post("/push/export", dependencies=[allow(BUREAU)])
def export(db: DB, actor: CurrentActor, fmt: Annotated[str, Form()] = "xlsx",
           since: Annotated[str | None, Form()] = None):
    when = None
    if since and since.strip():
        try:
            when = date.fromisoformat(since.strip())
        except ValueError as exc:
            raise InvalidInput(f"起始日期应为 YYYY-MM-DD：{since}",
                               f"since must be a YYYY-MM-DD date: {since}") from exc
    data, count = service.do_export(db, actor, fmt, when)
    media = ("text/csv; charset=utf-8" if fmt == "csv" else
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"push-pending-{date.today().isoformat()}.{fmt}"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Exported-Count": str(count)})


# -- review of draft batches ----------------------------------------------------------------

@router.get("/push/batches", dependencies=[allow(BUREAU)])
def batches_page(request: Request, db: DB, actor: CurrentActor, status: str | None = None):
    status = _clean(status, set(BATCH_STATUSES))
    return render(request, "push/batches.html", {
        "drafts": service.batches(db, actor, "draft"),
        "history": [b for b in service.batches(db, actor, status) if b.status != "draft"],
        "statuses": BATCH_STATUSES, "status": status})


@router.get("/push/batches/{batch_id}", dependencies=[allow(BUREAU)])
def batch_page(request: Request, db: DB, actor: CurrentActor, batch_id: RowId):
    batch, items = service.batch_detail(db, actor, batch_id)
    return render(request, "push/batch.html", {"batch": batch, "items": items})


def _ids(values: list[str], field: str) -> list[int]:
    out = []
    for raw in values:
        try:
            out.append(int(raw))
        except ValueError:
            raise InvalidInput(f"{field}：无效的消息编号 {raw!r}",
                               f"{field}: bad message id {raw!r}", field=field) from None
    return out


@router.post("/push/batches/{batch_id}/send", dependencies=[allow(BUREAU)])
async def batch_send(request: Request, db: DB, actor: CurrentActor, batch_id: RowId):
    form = await request.form()
    drop = _ids([str(v) for v in form.getlist("drop")], "drop")
    edits = {}
    for key, value in form.multi_items():
        if key.startswith("body_"):
            edits[_ids([key.removeprefix("body_")], key)[0]] = str(value)
    decision = SendBatchIn(drop=drop, edits=edits)
    await run_in_threadpool(service.do_send_batch, db, actor, batch_id, decision)
    return RedirectResponse(f"/push/batches/{batch_id}", status_code=303)


@router.post("/push/batches/{batch_id}/discard", dependencies=[allow(BUREAU)])
def batch_discard(db: DB, actor: CurrentActor, batch_id: RowId,
                  reason: Annotated[str, Form(max_length=500)] = ""):
    service.do_discard_batch(db, actor, batch_id, reason)
    return RedirectResponse(f"/push/batches/{batch_id}", status_code=303)
