"""The published schema validates, documents every operation with its errors, and agrees with API.md."""

import json

import pytest
import yaml
from openapi_spec_validator import validate
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_valid_openapi_3(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_yaml_schema_served_by_default():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Kameng API"


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_are_served(path):
    response = APIClient().get(path)
    assert response.status_code == 200 and b"/api/schema/" in response.content


CONTRACT_PATHS = [
    "/api/v1/auth/token/", "/api/v1/platforms/", "/api/v1/platforms/{id}/", "/api/v1/cases/",
    "/api/v1/cases/{id}/", "/api/v1/cases/{id}/transition/",
]


@pytest.mark.parametrize("path", CONTRACT_PATHS)
def test_contract_paths_are_published(schema, path):
    assert path in schema["paths"]


def test_every_operation_documents_the_error_format(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            codes = set(operation["responses"])
            if path == "/healthz":
                continue
            assert {"401", "500"} <= codes or path == "/api/v1/auth/token/", (method, path, codes)
            for code in codes - {"200", "201", "204"}:
                content = operation["responses"][code].get("content", {})
                assert content, (method, path, code)


def test_case_create_has_examples(schema):
    operation = schema["paths"]["/api/v1/cases/"]["post"]
    assert operation["requestBody"]["content"]["application/json"].get("examples")
    assert "409" in operation["responses"]


def test_security_schemes_name_token_and_api_key(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"]["name"] == "Authorization"
    assert "tokenAuth" in schemes


def test_case_detail_response_matches_its_schema(schema, handler, org):
    """A real response validated against the published component (not only the shape we think)."""
    from openapi_schema_validator import OAS30Validator

    from tests.factories import CaseFactory

    case = CaseFactory(organization=org)
    body = handler.get(f"/api/v1/cases/{case.pk}/").json()
    component = {"$ref": "#/components/schemas/Case", "components": schema["components"]}
    OAS30Validator({**component}).validate(body)


def test_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 0


# --- a schema a generated client can use (identifiers, errors, preconditions) -----------------------------

@pytest.fixture(scope="module")
def zh_schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    return json.loads(response.content)


def test_schema_identifiers_are_english_whatever_the_language(zh_schema):
    import re

    cjk = re.compile(r"[\u4e00-\u9fff]")
    for name, component in zh_schema["components"]["schemas"].items():
        assert not cjk.search(name), name
        for prop in component.get("properties", {}):
            assert not cjk.search(prop), (name, prop)
    for path, item in zh_schema["paths"].items():
        for method, operation in item.items():
            assert not cjk.search(operation["operationId"])
            for parameter in operation.get("parameters", []):
                assert not cjk.search(parameter["name"]) and not cjk.search(json.dumps(parameter["schema"])), \
                    (method, path, parameter)


def test_errors_are_a_few_shared_components(zh_schema):
    names = [n for n in zh_schema["components"]["schemas"] if "Error" in n]
    assert len(names) <= 10, names
    for path, item in zh_schema["paths"].items():
        for operation in item.values():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")) and path != "/healthz":  # 503 is the health answer
                    assert list(response["content"]) == ["application/json"]
                    ref = json.dumps(response["content"]["application/json"]["schema"])
                    assert "ErrorResponse" in ref or "BadRequestResponse" in ref, ref


def test_only_answers_an_operation_can_give_are_documented(zh_schema):
    for path, item in zh_schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert not codes & {"405", "406"}, (method, path)
            if method == "get":
                assert "415" not in codes and "428" not in codes, (method, path)
            if method == "patch":
                assert {"409", "428"} <= codes, (method, path)
                if_match = [p for p in operation["parameters"] if p["name"] == "If-Match"]
                assert if_match and if_match[0]["required"] is True, path


def test_request_bodies_are_json_except_the_evidence_upload(zh_schema):
    for path, item in zh_schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            expected = ["multipart/form-data"] if path == "/api/v1/cases/{case_id}/evidence/" else ["application/json"]
            assert list(body["content"]) == expected, (method, path)


def test_codes_that_may_be_unset_are_nullable_not_blank(zh_schema):
    escalation = zh_schema["components"]["schemas"]["Escalation"]["properties"]
    assert escalation["skip_reason"].get("nullable") is True
    assert escalation["approved_by"].get("nullable") is True
    recommendation = zh_schema["components"]["schemas"]["Recommendation"]["properties"]
    assert recommendation["skip_reason"].get("nullable") is True


def test_binary_answers_are_declared_with_a_type_generated_clients_read(zh_schema):
    bundle = zh_schema["paths"]["/api/v1/cases/{case_id}/bundle/"]["get"]["responses"]["200"]["content"]
    assert {"application/zip", "application/octet-stream"} <= set(bundle)
    download = zh_schema["paths"]["/api/v1/evidence/{id}/download/"]["get"]["responses"]["200"]["content"]
    assert "application/octet-stream" in download


def test_created_objects_link_to_what_can_be_done_with_them(zh_schema):
    links = zh_schema["paths"]["/api/v1/cases/"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert {"api_v1_cases_retrieve", "api_v1_cases_evidence_create", "api_v1_cases_escalations_create"} <= targets
    patch_link = zh_schema["paths"]["/api/v1/cases/{id}/"]["get"]["responses"]["200"]["links"]
    assert list(patch_link.values())[0]["parameters"]["header.If-Match"] == "$response.header.ETag"
