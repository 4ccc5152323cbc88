"""Typed business errors. Each carries its HTTP status and a message in both languages.

The web and API layers turn them into responses; the CLI prints them and exits non-zero.
"""

from __future__ import annotations

from typing import Any


class KechuangError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message_zh: str, message_en: str | None = None, **details: Any) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        self.details = details

    def message(self, locale: str = "zh") -> str:
        return self.message_en if locale == "en" else self.message_zh


class NotFound(KechuangError):
    status_code = 404
    code = "not_found"


class Forbidden(KechuangError):
    status_code = 403
    code = "forbidden"


class NotAuthenticated(KechuangError):
    status_code = 401
    code = "not_authenticated"


class Conflict(KechuangError):
    status_code = 409
    code = "conflict"


class InvalidInput(KechuangError):
    status_code = 422
    code = "invalid_input"


class TooManyRequests(KechuangError):
    status_code = 429
    code = "too_many_requests"
