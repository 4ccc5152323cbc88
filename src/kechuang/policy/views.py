"""Pages of the policy engine: the bureau's overview with a run button, and the section of
the enterprise page (an HTMX partial loaded by ``registry/detail.html``).

A run started from the web is queued as a ``policy.run`` job (:mod:`kechuang.policy.jobs`)
and the browser goes to the job's page, which shows its progress and links back here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from kechuang.jobs.service import submit
from kechuang.kit.errors import InvalidInput
from kechuang.policy import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.policy import service
from kechuang.policy.jobs import KIND
from kechuang.policy.loader import builtin_policies
from kechuang.registry.views import DETAIL_ROLES
from kechuang.web.deps import BUREAU, DB, CurrentActor, allow
from kechuang.web.i18n import translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

#: the enterprise page's policy section: the same roles and scope as the enterprise detail
#: (the bureau in its region, the enterprise itself; banks and experts see none yet → 404)
SECTION_ROLES = DETAIL_ROLES


@router.get("/policies", dependencies=[allow(BUREAU)])
def policy_list(request: Request, db: DB, actor: CurrentActor, done: int | None = None):
    rows = service.policy_overview(db, actor)
    en = locale_of(request) == "en"
    labels = {v: translate(f"policy.verdict.{v}", "en") if en else label
              for v, label in service.VERDICT_LABELS.items()}
    # the English name of each policy (its YAML's name_en), shown on English pages
    names_en = {pid: lp.policy.name_en for pid, lp in builtin_policies().items()
                if lp.policy.name_en}
    return render(request, "policy/list.html",
                  {"rows": rows, "labels": labels, "done": done,
                   "tones": service.VERDICT_TONES, "names_en": names_en})


@router.post("/policies/run", dependencies=[allow(BUREAU)])
def policy_run(db: DB, actor: CurrentActor,
               as_of: Annotated[str | None, Form()] = None):
    when = date.today()
    if as_of and as_of.strip():
        try:
            when = date.fromisoformat(as_of.strip())
        except ValueError as exc:
            raise InvalidInput(f"评价日应为 YYYY-MM-DD 格式的日期：{as_of}",
                               f"as_of must be a YYYY-MM-DD date: {as_of}") from exc
    job = submit(db, actor, KIND, {"as_of": when.isoformat()})
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/enterprises/{uscc}/policies", dependencies=[allow(*SECTION_ROLES)])
def enterprise_section(request: Request, db: DB, actor: CurrentActor, uscc: str):
    items = service.enterprise_policies(db, actor, uscc)
    return render(request, "policy/_enterprise_section.html", {"items": items, "uscc": uscc})
