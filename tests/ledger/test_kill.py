"""A process killed with SIGKILL in the middle of a payment leaves the whole entry or nothing:
the child posts a payment inside its unit of work (the row and its audit row are written to
the database but not committed), says so, and sleeps; the parent kills it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select

from kechuang.db import unit_of_work
from kechuang.ledger import service as ledger
from kechuang.models import AuditEvent
from kechuang.models.ledger import LedgerEntry
from tests.ledger.helpers import open_budget, pay

CHILD = """
import sys, time
from decimal import Decimal
from kechuang.db import make_engine, unit_of_work
from kechuang.ledger import service as ledger
from tests.ledger.helpers import actor
engine = make_engine(sys.argv[1])
with unit_of_work(engine) as s:
    ledger.do_pay(s, actor(s, "admin"), budget_key="program:T-1:2024", kind="grant",
                  payee_type="enterprise", payee_id=1, payee_name="张家港华芯微电子有限公司",
                  amount=Decimal("400"), decision_ref="decision:kill", idempotency_key="kill-1")
    s.flush()
    print("posted", flush=True)
    time.sleep(120)
"""


def test_sigkill_mid_payment_leaves_nothing(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        open_budget(s, amount="1000")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root}:{root / 'src'}"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, engine.url.render_as_string(hide_password=False)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "posted", child.stderr.read() if child.stderr else line
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    assert child.returncode == -signal.SIGKILL
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "ledger.pay")) == 0
        assert ledger.remaining(s, "program:T-1:2024") == Decimal("1000")
    # the lock died with the process: the retried request pays, once
    with unit_of_work(engine) as s:
        e = pay(s, "400", "kill-1", decision="decision:kill")
    with unit_of_work(engine) as s:
        again = pay(s, "400", "kill-1", decision="decision:kill")
        assert again.id == e.id and again.replayed
        assert ledger.remaining(s, "program:T-1:2024") == Decimal("600")
