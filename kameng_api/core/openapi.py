from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
)
from drf_standardized_errors.openapi import AutoSchema as StandardErrorsAutoSchema
from rest_framework import serializers

ID_REGEX = r"[0-9]{1,18}"  # router lookups: an id beyond bigint is a 404, not a database error

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Partner writes: a retry with the same key and body returns the first answer.",
)


def if_match(what: str, required: bool = False) -> OpenApiParameter:
    description = f"The {what}'s ETag from a GET; a stale one is refused with 409."
    if required:
        description += " Required: without it the PATCH is refused with 428."
    parameter = OpenApiParameter("If-Match", {"type": "string", "pattern": r'^(\*|(W/)?"[^"]+")$'},
                                 OpenApiParameter.HEADER, required=required, description=description)
    return parameter


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. required, invalid, not_found.")
    detail = serializers.CharField(help_text="A sentence for a person, in the request's language.")
    attr = serializers.CharField(allow_null=True, help_text="The input concerned (`parent.child`, "
                                                            "`list.0.child`), or null.")


class ValidationErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("validation_error", "validation_error")])
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # a field named like Serializer.errors


class ClientErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("client_error", "client_error")])
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # a field named like Serializer.errors


class ServerErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("server_error", "server_error")])
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # a field named like Serializer.errors


BAD_REQUEST = PolymorphicProxySerializer(
    component_name="BadRequestResponse",
    serializers={"validation_error": ValidationErrorResponseSerializer, "client_error": ClientErrorResponseSerializer},
    resource_type_field_name="type",
)

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (validation_error, attr names the field) or a malformed request (client_error).",
    "401": "Not authenticated.",
    "403": "Your role may not do this.",
    "404": "No such object (also another organization's).",
    "409": "Conflict: an illegal state change, a duplicate, or a stale If-Match (reload, then retry).",
    "413": "The request body or file is too large.",
    "414": "The URL is too long.",
    "415": "The request body's media type is not accepted here.",
    "428": "A PATCH without If-Match: GET the object, send its ETag as If-Match.",
    "429": "Throttled: retry after the Retry-After header's seconds.",
    "500": "A server error.",
}


class AutoSchema(StandardErrorsAutoSchema):
    """The standard error format on every operation, as shared components (one per kind of error, not one
    per operation), documenting only the answers the operation can give: 428 on PATCH; 415 where a body
    is parsed; neither 405 (the documented method exists) nor 406 (every operation answers JSON)."""

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        method = self.method.upper()
        if status_code in ("405", "406"):
            return False
        if status_code == "428":
            return method == "PATCH" and status_code not in responses
        if status_code in ("413", "415"):
            return method in ("POST", "PUT", "PATCH") and status_code not in responses
        if status_code == "409":
            # documented per operation, with the conflict it names; every PATCH can meet a stale If-Match
            return method == "PATCH" and status_code not in responses
        return super()._should_add_error_response(responses, status_code)

    def _get_error_response_serializer(self, status_code: str):
        if status_code == "400":
            return BAD_REQUEST
        if status_code == "500":
            return ServerErrorResponseSerializer
        return ClientErrorResponseSerializer

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if str(status_code) in ERROR_DESCRIPTIONS:
            media_types = ["application/json"]  # errors are JSON whatever the success answer's type
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if status_code in ERROR_DESCRIPTIONS and serializer in (BAD_REQUEST, ClientErrorResponseSerializer,
                                                                 ServerErrorResponseSerializer):
            response["description"] = ERROR_DESCRIPTIONS[status_code]
        return response

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method.upper() == "PATCH" and not any(getattr(p, "name", None) == "If-Match" for p in parameters):
            parameters.append(if_match("object", required=True))
        return parameters


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "kameng_api.core.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Partner apps: `Authorization: Api-Key <key>` (from `create_api_key`).",
        }


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kameng_api.core.tokens.StaffTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Staff: `Authorization: Token <token>` (from `POST /api/v1/auth/token/`; the token "
                           "expires, `DELETE /api/v1/auth/token/` revokes it).",
        }


def error_response(status: int, description: str, code: str, detail: str) -> OpenApiResponse:
    """A documented 409/413/415 answer in the error format of API.md, with an example."""
    return OpenApiResponse(
        response=ClientErrorResponseSerializer,
        description=description,
        examples=[
            OpenApiExample(
                f"{status} {code}",
                value={"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]},
                response_only=True,
                status_codes=[str(status)],
            )
        ],
    )


def generic_validation_errors(result, generator, request, public):
    """drf-standardized-errors describes each 400 as a union over (attr, code) pairs. That union misses
    real answers (a nested object that is missing is reported on `consumer`, not `consumer.non_field_errors`;
    rules checked by services add their own codes) and is empty (`oneOf: []`, invalid OpenAPI) when no
    input can fail. Each such union is replaced by one item schema — `{code, detail, attr}` — whose
    description lists the fields the operation validates."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, body in list(schemas.items()):
        if body.get("discriminator", {}).get("propertyName") != "attr" and body.get("oneOf") != []:
            continue
        attrs = sorted(body.get("discriminator", {}).get("mapping", {}))
        schemas[name] = {
            "type": "object",
            "description": "One validation error. `attr` names the input: "
            + (", ".join(f"`{a}`" for a in attrs) if attrs else "none for this operation")
            + " (nested inputs as `parent.child`, list items as `parent.0.child`).",
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, e.g. required, invalid, max_length."},
                "detail": {"type": "string", "description": "A sentence for a person, in the request's language."},
                "attr": {"type": "string", "nullable": True},
            },
            "required": ["code", "detail", "attr"],
        }
    _every_400_may_be_a_validation_error(schemas)
    return result


def _every_400_may_be_a_validation_error(schemas: dict) -> None:
    """Query parameters checked by a view itself (not a serializer or filterset) answer 400 validation
    errors too; drf-standardized-errors only documents a parse error for such operations."""
    generic = "GenericValidationErrorResponse"
    for name, body in list(schemas.items()):
        mapping = body.get("discriminator", {}).get("mapping")
        if not name.endswith("ErrorResponse400") or mapping is None or "validation_error" in mapping:
            continue
        if generic not in schemas:
            schemas[generic] = {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["validation_error"]},
                    "errors": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "detail": {"type": "string"},
                                       "attr": {"type": "string", "nullable": True}},
                        "required": ["code", "detail", "attr"],
                    }},
                },
                "required": ["type", "errors"],
            }
        ref = f"#/components/schemas/{generic}"
        body["oneOf"].append({"$ref": ref})
        mapping["validation_error"] = ref



def _singular(resource: str) -> str:
    return {"evidence": "evidence", "cases": "case"}.get(resource, resource.rstrip("s"))


def add_links(result, generator, request, public):
    """OpenAPI links, so stateful testing (schemathesis) and readers can follow a created or read object to
    what can be done with it: a 201 from `POST /api/v1/<things>/` (or nested) leads to every operation on
    `/api/v1/<things>/{id}/...` and on `/api/v1/<things>/{thing_id}/...`; a 200 from a GET of one object
    leads to its PATCH with the ETag as If-Match."""
    paths = result.get("paths", {})
    for source_path, item in paths.items():
        for method, operation in item.items():
            if method not in ("post", "get"):
                continue
            status = "201" if method == "post" else "200"
            response = operation.get("responses", {}).get(status)
            if response is None or "application/json" not in response.get("content", {}):
                continue
            if method == "post":
                resource = source_path.rstrip("/").rsplit("/", 1)[-1]
                if "{" in resource:
                    continue
                links = {}
                for target_path, target_item in paths.items():
                    target_param = None
                    if target_path.startswith(f"/api/v1/{resource}/{{"):
                        target_param = target_path[len(f"/api/v1/{resource}/{{"):].split("}", 1)[0]
                    elif f"/api/v1/{resource}/{{{_singular(resource)}_id}}/" in target_path:
                        target_param = f"{_singular(resource)}_id"
                    if target_param is None:
                        continue
                    for target in target_item.values():
                        if not isinstance(target, dict) or "operationId" not in target:
                            continue
                        links[_link_name(target["operationId"])] = {
                            "operationId": target["operationId"],
                            "parameters": {f"path.{target_param}": "$response.body#/id"},
                        }
                if links:
                    response["links"] = links
            elif source_path.endswith("}/") and "patch" in item and "ETag" in _response_header_names(response, item):
                response["links"] = {_link_name(item["patch"]["operationId"]): {
                    "operationId": item["patch"]["operationId"],
                    "parameters": {**{f"path.{p['name']}": f"$request.path.{p['name']}"
                                      for p in operation.get("parameters", []) if p.get("in") == "path"},
                                   "header.If-Match": "$response.header.ETag"},
                }}
    return result


def _link_name(operation_id: str) -> str:
    return "".join(part.capitalize() for part in operation_id.removeprefix("api_v1_").split("_"))


def _response_header_names(response: dict, item: dict) -> set:
    return set(response.get("headers", {})) | {"ETag"}


def query_parameter_rules(result, generator, request, public):
    """What every list and query parameter does, said in the schema: an empty value (`?status=`) means the
    parameter is not given, and text parameters refuse NUL characters (PostgreSQL cannot store them)."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                parameter["allowEmptyValue"] = True
                schema = parameter.get("schema", {})
                if schema.get("type") == "string" and "enum" not in schema and "format" not in schema:
                    schema.setdefault("pattern", "^[^\\x00]*$")
    return result
