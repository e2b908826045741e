from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kameng_api.core.access import roles_for
from kameng_api.core.openapi import ID_REGEX

from .. import selectors, services
from ..filters import AlertFilter
from . import examples
from .serializers import (
    AlertSerializer,
    DeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)

ALERT_READERS = roles_for("alert.read")
WEBHOOK_MANAGERS = roles_for("webhook.manage")


@extend_schema(tags=["alerts"])
@extend_schema_view(
    list=extend_schema(summary="Deadline alerts of the cases you may read", examples=[examples.ALERT]),
    retrieve=extend_schema(summary="One alert", examples=[examples.ALERT]),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """In-app alerts: staff see their organization's, a partner key those of its partner-filed cases."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    lookup_value_regex = ID_REGEX
    roles = {"list": ALERT_READERS, "retrieve": ALERT_READERS, "ack": ALERT_READERS}

    def get_queryset(self):
        return selectors.alert_list(user=self.request.user)

    @extend_schema(summary="Acknowledge an alert (a second acknowledgement changes nothing)", request=None,
                   responses={200: AlertSerializer}, examples=[examples.ALERT])
    @action(detail=True, methods=["post"], filterset_class=None)
    def ack(self, request, pk=None):
        alert = services.alert_ack(actor=request.user, alert=self.get_object())
        return Response(AlertSerializer(selectors.alert_list(user=request.user).get(pk=alert.pk)).data)


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    list=extend_schema(summary="Your organization's webhook endpoints", examples=[examples.WEBHOOK]),
    retrieve=extend_schema(summary="One webhook endpoint", examples=[examples.WEBHOOK]),
    create=extend_schema(summary="Add a webhook endpoint (the secret is shown once)",
                         request=WebhookEndpointSerializer,
                         responses={201: WebhookEndpointCreatedSerializer},
                         examples=[examples.WEBHOOK_CREATE, examples.WEBHOOK_CREATED]),
    partial_update=extend_schema(summary="Change or re-enable a webhook endpoint",
                                 examples=[examples.WEBHOOK_REENABLE, examples.WEBHOOK]),
    destroy=extend_schema(summary="Delete a webhook endpoint"),
)
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Partner endpoints. Bodies are signed `X-Kameng-Signature: sha256=<hex HMAC-SHA256 of the body>`
    with the endpoint's secret, and carry `X-Kameng-Event` and `X-Kameng-Delivery` (dedupe on it)."""

    serializer_class = WebhookEndpointSerializer
    lookup_value_regex = ID_REGEX
    filter_backends = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    roles = {action: WEBHOOK_MANAGERS
             for action in ("list", "retrieve", "create", "partial_update", "destroy", "deliveries")}

    def get_queryset(self):
        return selectors.webhook_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = services.webhook_create(actor=request.user, url=data["url"], events=data["events"],
                                                   description=data.get("description", ""))
        body = WebhookEndpointCreatedSerializer(endpoint).data
        body["secret"] = secret
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": f"/api/v1/webhooks/{endpoint.pk}/"})

    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        serializer = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_update(actor=request.user, endpoint=endpoint,
                                           data=dict(serializer.validated_data))
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request, *args, **kwargs):
        services.webhook_delete(actor=request.user, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="The endpoint's delivery log, newest first", responses={200: DeliverySerializer(many=True)},
                   examples=[examples.DELIVERY])
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        page = self.paginate_queryset(selectors.delivery_list(endpoint=endpoint))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
