"""A NUL character in a URL is refused at the edge with 422 (PostgreSQL text cannot hold it;
found by the schemathesis fuzz as a 500 on PostgreSQL)."""

from __future__ import annotations

from tests.conftest import login


def test_nul_in_a_query_is_a_clear_422_on_every_backend(client):
    login(client, "admin")
    api = client.get("/api/v1/enterprises?q=%00")
    assert api.status_code == 422
    assert api.json()["error"] == "invalid_input"
    page = client.get("/enterprises?q=a%00b")
    assert page.status_code == 422
    assert "空字符" in page.text
    assert client.get("/api/v1/enterprises?q=ok").status_code == 200
