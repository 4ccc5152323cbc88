"""The CLI's own commands, run as a user runs them: a real process against a real database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from typer.testing import CliRunner

from kechuang.cli import app

KECHUANG = [sys.executable, "-m", "kechuang.cli"]


def _env(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**os.environ, "KECHUANG_DATABASE_URL": engine.url.render_as_string(hide_password=False)}


def test_stats_prints_json_counts(engine, monkeypatch):
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = subprocess.run([*KECHUANG, "stats"], env=_env(engine), capture_output=True, text=True,
                         check=True).stdout
    counts = json.loads(out)
    assert counts["enterprises"] == 6
    assert counts["users"] == 8
    assert {"facts", "batches"} <= set(counts)


def test_init_on_an_empty_database_migrates_and_loads_reference_data(empty_engine):
    out = subprocess.run([*KECHUANG, "init"], env=_env(empty_engine), capture_output=True,
                         text=True, check=True).stdout
    summary = json.loads(out)
    assert summary["reference_added"]["regions"] > 40000
    assert summary["reference_added"]["metrics"] >= 44
    again = json.loads(subprocess.run([*KECHUANG, "init"], env=_env(empty_engine),
                                      capture_output=True, text=True, check=True).stdout)
    assert again["reference_added"] == {"departments": 0, "metrics": 0, "industries": 0,
                                        "regions": 0}


def test_users_create_refuses_a_weak_password_and_an_unknown_region(engine, monkeypatch):
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    try:
        runner = CliRunner()
        weak = runner.invoke(app, ["users", "create", "zhang", "--role", "bureau_staff",
                                   "--region", "320582", "--password", "short"])
        assert weak.exit_code == 1
        assert "密码至少" in weak.output
        unknown = runner.invoke(app, ["users", "create", "zhang", "--role", "bureau_staff",
                                      "--region", "999999", "--password", "good-pass-123"])
        assert unknown.exit_code == 1
        assert "区域代码不存在" in unknown.output
        ok = runner.invoke(app, ["users", "create", "zhang", "--role", "bureau_staff",
                                 "--region", "320582100", "--password", "good-pass-123"])
        assert ok.exit_code == 0, ok.output
        assert "已创建账号" in ok.output
    finally:
        get_settings.cache_clear()
        dispose_engines()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_on_the_configured_port(engine):
    port = _free_port()
    proc = subprocess.Popen([*KECHUANG, "serve", "--port", str(port)], env=_env(engine),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert body == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
