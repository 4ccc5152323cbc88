"""Property-based tests of the JSON API from its own OpenAPI document (schemathesis): no
generated request — anonymous or as a logged-in bureau account — makes the server fail, and
every successful response matches the schema it documents.

The operations are driven through schemathesis' Hypothesis strategies directly (its pytest
plugin does not support this pytest release)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import login


def _operations(app):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("who", ["public", "staff"])
def test_api_never_fails_and_honours_its_schema(app, client, who):
    headers = {}
    if who != "public":
        headers["X-CSRF-Token"] = login(client, who)
    operations = _operations(app)
    assert operations, "the API documents no operation"
    for operation in operations:
        _fuzz(operation, client, headers)


def _fuzz(operation, client, headers):  # type: ignore[no-untyped-def]
    """One operation's property test (a function of its own, so the closure binds it)."""

    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):  # type: ignore[no-untyped-def]
        response = case.call(cookies=dict(client.cookies), headers=headers)
        assert response.status_code < 500, (operation.label, response.text)
        if response.status_code < 400:
            case.validate_response(response)

    check()
