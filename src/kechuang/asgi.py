"""ASGI entry point for Uvicorn: ``kechuang.asgi:app``."""

import threading

from kechuang.app import create_app
from kechuang.jobs.service import recover_stale
from kechuang.matching.engine import warm
from kechuang.migrate import is_initialised

app = create_app()
# jobs a dead server left "running" are failed at boot, not only at the next submit
if is_initialised(app.state.engine):
    recover_stale(app.state.engine)
    # the matching indexes in the background: the first demand page need not build them
    threading.Thread(target=warm, args=(app.state.engine,), name="warm-matching",
                     daemon=True).start()
