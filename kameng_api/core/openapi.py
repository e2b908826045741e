from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers
from drf_standardized_errors.openapi import AutoSchema as StandardErrorsAutoSchema


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
