"""``kechuang users token create | list | revoke`` (docs/cli/tokens.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kechuang.cli import app as cli_app
from kechuang.config import get_settings
from kechuang.db import dispose_engines, unit_of_work
from kechuang.models import AuditEvent
from kechuang.models.security import ApiToken

runner = CliRunner()


@pytest.fixture
def cli_db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    yield engine
    get_settings.cache_clear()
    dispose_engines()


def test_create_list_and_revoke_from_the_shell(cli_db: Engine, app) -> None:
    out = runner.invoke(cli_app, ["users", "token", "create", "tax", "--name", "税务接口",
                                  "--days", "30"])
    assert out.exit_code == 0, out.output
    secret = out.output.strip().splitlines()[-1]
    assert secret.startswith("kct_")
    system = TestClient(app)
    assert system.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
                      ).json()["username"] == "tax"
    listed = runner.invoke(cli_app, ["users", "token", "list"])
    assert listed.exit_code == 0 and secret[:12] in listed.output and secret not in listed.output
    assert "active" in listed.output
    with unit_of_work(cli_db) as s:
        token_id = s.scalars(select(ApiToken.id)).one()
    out = runner.invoke(cli_app, ["users", "token", "revoke", str(token_id)])
    assert out.exit_code == 0, out.output
    assert system.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
                      ).status_code == 401
    assert runner.invoke(cli_app, ["users", "token", "revoke", str(token_id)]).exit_code == 1
    with unit_of_work(cli_db) as s:
        actions = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "api_token").order_by(AuditEvent.id)))
    assert actions == ["api_token.create", "api_token.use", "api_token.revoke"]


@pytest.mark.parametrize("args", [
    ["users", "token", "create", "admin", "--name", "x", "--days", "30"],  # an administrator
    ["users", "token", "create", "tax", "--name", "x", "--days", "4000"],  # too long
    ["users", "token", "create", "nobody", "--name", "x", "--days", "3"],
    ["users", "token", "create", "tax", "--name", "x", "--days", "3", "--region", "320581"],
])
def test_refusals_exit_1_and_write_nothing(cli_db: Engine, args: list[str]) -> None:
    out = runner.invoke(cli_app, args)
    assert out.exit_code == 1, out.output
    with unit_of_work(cli_db) as s:
        assert s.scalars(select(ApiToken)).first() is None


def test_a_region_operator_sees_only_its_region(cli_db: Engine) -> None:
    assert runner.invoke(cli_app, ["users", "token", "create", "tax", "--name", "x",
                                   "--days", "3"]).exit_code == 0
    other = runner.invoke(cli_app, ["users", "token", "list", "--region", "320581"])
    assert other.exit_code == 0 and "no tokens" in other.output
    home = runner.invoke(cli_app, ["users", "token", "list", "--region", "320582"])
    assert "tax" in home.output
