"""Fixtures shared with the security tests."""

from tests.security.conftest import app_with  # noqa: F401
