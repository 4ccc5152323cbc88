"""ASGI entry point for Uvicorn: ``kechuang.asgi:app``."""

from kechuang.app import create_app

app = create_app()
