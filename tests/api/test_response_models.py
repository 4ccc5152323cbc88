"""Every JSON route under /api has a response model: its OpenAPI document names a Pydantic
schema for each success response, so the document describes what comes back and the fuzz
test (test_openapi_fuzz.py) checks it. A route returning ``dict[str, Any]`` documents
``{"type": "object", "additionalProperties": true}`` — nothing — and fails here."""

from __future__ import annotations

from typing import Any

from kechuang.app import create_app


def _typed(schema: dict[str, Any] | None) -> bool:
    """A named model, a list of named models, or a plain scalar."""
    if not schema:
        return False
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _typed(schema.get("items"))
    if "anyOf" in schema:
        return all(_typed(s) or s.get("type") == "null" for s in schema["anyOf"])
    return schema.get("type") in {"string", "integer", "number", "boolean"}


def untyped_operations(spec: dict[str, Any]) -> list[str]:
    out = []
    for path, ops in spec["paths"].items():
        if not path.startswith("/api"):
            continue
        for method, op in ops.items():
            for code, response in op.get("responses", {}).items():
                if not code.startswith("2") or code == "204":
                    continue
                content = response.get("content") or {}
                if "application/json" not in content:
                    if content:  # a file (XLSX, CSV, PDF): documented by its media type
                        continue
                    out.append(f"{method.upper()} {path} ({code}: no content documented)")
                    continue
                if not _typed(content["application/json"].get("schema")):
                    out.append(f"{method.upper()} {path} ({code}: "
                               f"{op.get('operationId')} has no response model)")
    return out


def test_every_api_route_has_a_response_model() -> None:
    spec = create_app().openapi()
    missing = untyped_operations(spec)
    assert not missing, (
        "API routes without a Pydantic response model — annotate the route's return type "
        "(or set response_model=) with a model from the package's schemas:\n  "
        + "\n  ".join(missing))


def test_the_check_rejects_an_untyped_dict() -> None:
    spec = {"paths": {"/api/v1/x": {"get": {"operationId": "x", "responses": {"200": {
        "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": True}}}}}}},
        "/api/v1/y": {"get": {"operationId": "y", "responses": {"200": {
            "content": {"application/json": {"schema": {
                "type": "array", "items": {"$ref": "#/components/schemas/Y"}}}}}}}}}}
    assert untyped_operations(spec) == ["GET /api/v1/x (200: x has no response model)"]
