"""Double submission (a double click, two tabs): identical bids or applications sent at the
same moment store exactly one; the other gets a clear 409 naming the reason, never a 500.
Real parallel requests through the app (each handled in its own worker thread with its own
connection and transaction), on the backend under test."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError
from kechuang.models.programs import ProgramApplication, ProgramAttachment
from kechuang.programs import service
from tests.conftest import login
from tests.programs.helpers import PDF, actor, bid_values, make_call, make_program, proposal

ROUNDS = 3  # a race is won or lost by scheduling: try it more than once


def _open_call(engine, code: str) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        pid = make_program(s, code=f"P-{code}")
        cid = make_call(s, pid, code=code)
        service.do_call_action(s, actor(s, "staff"), cid, "open")
    return cid


def _stored(engine, cid: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        apps = s.scalar(select(func.count()).select_from(ProgramApplication)
                        .where(ProgramApplication.call_id == cid))
        files = s.scalar(select(func.count()).select_from(ProgramAttachment)
                         .join(ProgramApplication,
                               ProgramApplication.id == ProgramAttachment.application_id)
                         .where(ProgramApplication.call_id == cid))
    return int(apps or 0), int(files or 0)


def _race(fn: Callable[[], object]) -> list[object]:
    """Run ``fn`` twice at the same moment; what each returned or raised."""
    barrier = threading.Barrier(2)
    out: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - the caller looks at it
            result = exc
        with lock:
            out.append(result)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(out) == 2
    return out


def test_two_identical_bids_at_once_store_one_and_the_other_gets_409(client: TestClient,
                                                                    engine) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, "ent1")
    for n in range(ROUNDS):
        cid = _open_call(engine, f"T-DBL-{n}")

        def send(cid: int = cid) -> tuple[int, str]:
            r = client.post(f"/programs/calls/{cid}/apply", data={
                "csrf_token": csrf, "title": "同一揭榜方案", "plan": "路线",
                "requested_amount": "800000", "team_size": "12"},
                files={"proposal": ("方案.pdf", PDF, "application/pdf")},
                follow_redirects=False)
            return r.status_code, r.text

        answers = _race(send)
        assert all(isinstance(a, tuple) for a in answers), answers
        codes = sorted(a[0] for a in answers)  # type: ignore[index]
        assert codes == [303, 409], [(a[0], a[1][:300]) for a in answers]  # type: ignore[index]
        refused = next(a[1] for a in answers if a[0] == 409)  # type: ignore[index]
        assert "不能重复提交" in refused
        assert _stored(engine, cid) == (1, 1)


def test_two_identical_submissions_in_the_service_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    """The same race one layer down, each submission its own unit of work: one stored, the
    other a Conflict (409), no other exception."""
    for n in range(ROUNDS):
        cid = _open_call(engine, f"T-DBS-{n}")

        def submit(cid: int = cid) -> int:
            with unit_of_work(engine) as s:
                app = service.do_submit(s, actor(s, "ent1"), cid, bid_values(), proposal())
                return app.id

        outcomes = _race(submit)
        ok = [o for o in outcomes if isinstance(o, int)]
        refused = [o for o in outcomes if isinstance(o, KechuangError)]
        assert len(ok) == 1 and len(refused) == 1, outcomes
        assert refused[0].status_code == 409 and "不能重复提交" in refused[0].message_zh
        assert _stored(engine, cid) == (1, 1)
