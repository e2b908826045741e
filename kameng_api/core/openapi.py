from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as StandardErrorsAutoSchema
from rest_framework import serializers

ID_REGEX = r"[0-9]{1,18}"  # router lookups: an id beyond bigint is a 404, not a database error

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Partner writes: a retry with the same key and body returns the first answer.",
)


def if_match(what: str) -> OpenApiParameter:
    return OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False,
                            description=f"The {what}'s ETag from a GET; a stale one is refused with 409.")


class AutoSchema(StandardErrorsAutoSchema):
    """Documents the standard error format on every operation (drf-standardized-errors)."""


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


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ClientErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("client_error", "client_error")])
    errors = ErrorItemSerializer(many=True)


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
