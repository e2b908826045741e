from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kameng_api.core.fields import StrictCharField, StrictModelSerializer
from kameng_api.core.representation import CompiledRepresentation

from ..codes import WEBHOOK_EVENTS
from ..models import Alert, Delivery, WebhookEndpoint


class AlertDeadlineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = StrictCharField()
    due_at = serializers.DateTimeField()
    late_at = serializers.DateTimeField(allow_null=True)
    very_late_at = serializers.DateTimeField(allow_null=True)
    provisional = serializers.BooleanField()
    status = StrictCharField()


class AlertSerializer(CompiledRepresentation, StrictModelSerializer):
    reference = StrictCharField(source="case.reference", read_only=True)
    deadline = AlertDeadlineSerializer(read_only=True)
    acknowledged = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "kind", "case", "reference", "deadline", "due_at", "fires_at", "acknowledged",
                  "acknowledged_at", "acknowledged_by", "created_at"]
        read_only_fields = fields

    def get_acknowledged(self, obj) -> bool:
        return obj.acknowledged_at is not None


class EventsField(serializers.ListField):
    child = serializers.ChoiceField(choices=[(e, e) for e in WEBHOOK_EVENTS])

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", len(WEBHOOK_EVENTS))
        super().__init__(**kwargs)


class WebhookEndpointSerializer(StrictModelSerializer):
    url = StrictCharField(max_length=2000, help_text=_("http or https; a public address in production."))
    events = EventsField(help_text=_("Events to receive, e.g. deadline.overdue, case.status_changed."))
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "is_active", "consecutive_failures", "disabled_at",
                  "disabled_reason", "created_at", "updated_at"]
        read_only_fields = ["id", "consecutive_failures", "disabled_at", "disabled_reason", "created_at",
                            "updated_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The answer to a create: the only time the signing secret is shown."""

    secret = StrictCharField(read_only=True, help_text=_("Shown once: store it to verify signatures."))

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class DeliverySerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="uid", read_only=True, help_text=_("The X-Kameng-Delivery header."))
    event = StrictCharField(source="event_type", read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "event", "status", "attempts", "last_status_code", "last_error", "next_attempt_at",
                  "sent_at", "created_at"]
        read_only_fields = fields
