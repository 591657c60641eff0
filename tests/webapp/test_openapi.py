"""The OpenAPI document: valid 3.1, complete, generated from the models the endpoints validate with."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from webapp.blueprints.api import schemas
from webapp.openapi import build_spec, documented_rules, endpoint_docs, openapi_path, undocumented_endpoints

VENDOR = Path(__file__).resolve().parents[2] / "webapp" / "static" / "vendor"
PUBLIC = {"api.login", "api.api_key_login"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_served_document_is_the_built_one(app: Flask, spec: dict[str, Any]) -> None:
    assert spec == build_spec(app)


def test_every_api_endpoint_is_documented(app: Flask) -> None:
    assert undocumented_endpoints(app) == [], "put @documented(Doc(...)) under these views' @bp.<method>(...)"


def test_every_tag_is_described(spec: dict[str, Any]) -> None:
    used = {tag for operations in spec["paths"].values() for operation in operations.values() for tag in
            operation["tags"]}
    described = {tag["name"] for tag in spec["tags"] if tag.get("description")}
    assert used == described


def test_every_route_and_method_is_in_the_document(app: Flask, spec: dict[str, Any]) -> None:
    for rule in documented_rules(app):
        path, _ = openapi_path(rule)
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                assert method.lower() in spec["paths"][path], f"{method} {path}"


def test_request_bodies_are_the_models_the_views_validate_with(app: Flask) -> None:
    """The documented body model is the one the view hands to ``json_body`` (no drifting copy)."""
    docs = endpoint_docs(app)
    assert docs
    for endpoint, doc in docs.items():
        view = inspect.unwrap(app.view_functions[endpoint])
        validated = re.findall(r"json_body\((\w+)\)", inspect.getsource(view))
        documented = [doc.request.__name__] if doc.request is not None else []
        assert validated == documented, endpoint
        for name in validated:
            assert view.__globals__[name] is doc.request, endpoint


def test_path_parameters_are_typed(spec: dict[str, Any]) -> None:
    parameters = spec["paths"]["/routers/{router_id}/"]["get"]["parameters"]
    assert parameters == [
        {"name": "router_id", "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}
    ]


#: Public by design: the customers' captive portal and the providers' callbacks (guarded by unguessable ids).
PUBLIC_PATHS = {
    "/portal/{slug}/packages/", "/portal/{slug}/purchases/", "/portal/{slug}/purchases/{public_id}/",
    "/payments/mpesa/callback/{token}/", "/sms/delivery/{token}/",
}


def test_security_is_bearer_except_for_the_logins(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in {"/users/login/", "/users/api-key-login/"}:
                assert operation["security"] == [], path
                assert "401" in operation["responses"]
                assert "429" in operation["responses"]
            elif path in PUBLIC_PATHS:
                assert operation["security"] == [], path
                assert "401" not in operation["responses"], path
            else:
                assert operation["security"] == [{"bearerAuth": []}], f"{method} {path}"
                assert "401" in operation["responses"], f"{method} {path}"


def test_router_list_is_a_list_or_a_page(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/routers/"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {
        "oneOf": [
            {"type": "array", "items": {"$ref": "#/components/schemas/RouterOut"}},
            {"$ref": "#/components/schemas/RouterPage"},
        ]
    }
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {"page", "page_size", "is_online", "protocol", "search", "created__gte", "created__lt",
                     "ordering", "group", "tag"}
    ordering = next(p for p in operation["parameters"] if p["name"] == "ordering")
    assert "-created_at" in ordering["schema"]["enum"]


def test_error_answers_are_documented(spec: dict[str, Any]) -> None:
    create = spec["paths"]["/routers/"]["post"]["responses"]
    assert {"201", "400", "401", "413", "415"} <= set(create)
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    assert create["400"]["content"]["application/json"]["schema"] == error
    execute = spec["paths"]["/routers/{router_id}/execute-command/"]["post"]["responses"]
    assert {"200", "400", "401", "404", "409", "413", "415", "502", "504"} <= set(execute)
    device = spec["paths"]["/routers/{router_id}/device-info/"]["get"]["responses"]
    assert {"200", "401", "404", "502", "504"} <= set(device)
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]


def test_components_are_the_pydantic_schemas(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]
    create = components["RouterCreateRequest"]
    expected = schemas.RouterCreateRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    assert create == expected
    assert "password" not in components["RouterOut"]["properties"]  # secrets are write-only


def test_no_pydantic_only_keywords_leak_into_the_document(spec: dict[str, Any]) -> None:
    """``ge``/``le`` are pydantic's names; JSON Schema validators silently ignore them."""
    leaked: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            leaked.extend(f"{where}.{key}" for key in ("ge", "le", "gt", "lt") if key in node)
            for key, value in node.items():
                if key != "properties":
                    walk(value, f"{where}.{key}")
                else:
                    for name, schema in value.items():
                        walk(schema, f"{where}.{name}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")

    walk(spec, "$")
    assert leaked == []


def test_docs_page_uses_the_vendored_swagger_ui(client: FlaskClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-spec-url="/api/openapi.json"' in html
    for name in ("swagger-ui-bundle-5.35.0.js", "swagger-ui-5.35.0.css"):
        assert f"/static/vendor/{name}" in html
        with client.get(f"/static/vendor/{name}") as asset:
            assert asset.status_code == 200
    assert not re.search(r"""(src|href)=["']https?://""", html), "no CDN"


def test_vendored_files_have_licences_and_readme_rows() -> None:
    readme = (VENDOR / "README.md").read_text()
    for name in ("swagger-ui-bundle-5.35.0.js", "swagger-ui-5.35.0.css", "swagger-ui-5.35.0.LICENSE",
                 "swagger-ui-5.35.0.NOTICE"):
        assert (VENDOR / name).is_file()
        assert name in readme


def test_documented_router_answer_matches_a_real_one(client: FlaskClient, api, spec: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    from jsonschema import Draft202012Validator

    headers = api.headers()
    body = {"name": "Office", "host": "192.0.2.1", "username": "admin", "password": "pw"}
    created = client.post("/routers/", json=body, headers=headers)
    assert created.status_code == 201
    schema = {"$ref": "#/components/schemas/RouterOut", "components": spec["components"]}
    Draft202012Validator(schema).validate(created.get_json())
    page = client.get("/routers/?page=1", headers=headers).get_json()
    schema = {"$ref": "#/components/schemas/RouterPage", "components": spec["components"]}
    Draft202012Validator(schema).validate(page)
