"""ASGI entry point for Uvicorn: ``kechuang.asgi:app``."""

from kechuang.app import create_app
from kechuang.jobs.service import recover_stale
from kechuang.migrate import is_initialised

app = create_app()
# jobs a dead server left "running" are failed at boot, not only at the next submit
if is_initialised(app.state.engine):
    recover_stale(app.state.engine)
