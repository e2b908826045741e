from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kameng_api.core.audit import personal_data_shown
from kameng_api.core.fields import (
    IdField,
    SafePrimaryKeyRelatedField,
    StrictCharField,
    StrictModelSerializer,
    no_bidi_controls,
)
from kameng_api.core.representation import CompiledRepresentation

from ..codes import ClaimKind, DisputeType, Outcome, PaymentChannel, ProductType, Status
from ..models import Case, CaseEvent, Claim, Merchant, Platform

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
ID_RE = re.compile(r"^\d{17}[\dXx]$")
ORDER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./#:]*$")
CREDIT_CODE_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def money_field(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0,
                                    max_value=settings.KAMENG_MAX_AMOUNT, **kwargs)


def valid_id_number(value: str) -> bool:
    """GB 11643: 17 digits and a check character."""
    if not ID_RE.match(value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == value[17].upper()


class ConsumerSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, validators=[no_bidi_controls])
    phone = StrictCharField(max_length=20, required=False, allow_blank=True)
    id_number = StrictCharField(max_length=18, required=False, allow_blank=True,
                                      help_text="18-character resident ID number (GB 11643), checked.")
    payment_account = StrictCharField(max_length=100, required=False, allow_blank=True)

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("The consumer's name is required."))
        return value

    def validate_phone(self, value):
        value = value.replace(" ", "")
        if value and not PHONE_RE.match(value):
            raise serializers.ValidationError(
                _("Not a Chinese mobile (1xxxxxxxxxx) or landline (0xx-xxxxxxxx) number."))
        return value

    def validate_id_number(self, value):
        value = value.strip().upper()
        if value and not valid_id_number(value):
            raise serializers.ValidationError(_("Not a valid 18-character resident ID number."))
        return value


class MaskedConsumerSerializer(CompiledRepresentation, serializers.Serializer):
    """Lists show the consumer masked (张*, 138****5678): the masked forms stored beside the encrypted values
    (`Consumer.MASKED`), so a list decrypts nothing."""

    name = serializers.CharField(source="masked_name", read_only=True)
    phone = serializers.CharField(source="masked_phone", read_only=True)
    id_number = serializers.CharField(source="masked_id_number", read_only=True)


class _Rendered(list):
    """Claims the list's own statement already rendered (`cases.selectors.LIST_CLAIMS`)."""


class ClaimListSerializer(serializers.ListSerializer):
    """A case's claims: from the list query's JSON array when it brought them, else DRF's way."""

    def get_attribute(self, instance):
        rendered: Any = getattr(instance, "list_claims", _MISSING)  # the list query's JSON array, None or _MISSING
        if rendered is not _MISSING:
            return _Rendered(rendered or ())
        return super().get_attribute(instance)

    def to_representation(self, data):
        if isinstance(data, _Rendered):
            return list(data)
        return super().to_representation(data)


_MISSING = object()


class ClaimSerializer(CompiledRepresentation, StrictModelSerializer):
    kind = serializers.ChoiceField(choices=ClaimKind.choices)
    amount = money_field(required=False, allow_null=True,
                         help_text="CNY. Left out for punitive claims, it is computed (3× the price, ≥ 500).")
    unreasonable = serializers.BooleanField(read_only=True, help_text="Far beyond the loss (seed 000).")

    class Meta:
        model = Claim
        fields = ["kind", "amount", "unreasonable"]
        list_serializer_class = ClaimListSerializer


class CaseSerializer(CompiledRepresentation, StrictModelSerializer):
    platform = SafePrimaryKeyRelatedField(queryset=Platform.objects.all())
    merchant_name = StrictCharField(max_length=200, required=False, allow_blank=True,
                                          validators=[no_bidi_controls])
    order_number = StrictCharField(max_length=64)
    product_type = serializers.ChoiceField(choices=ProductType.choices)
    face_value = money_field(required=False, allow_null=True)
    amount_paid = money_field(help_text="CNY, as a decimal string, e.g. \"100.00\".")
    payment_channel = serializers.ChoiceField(choices=PaymentChannel.choices)
    dispute_type = serializers.ChoiceField(choices=DisputeType.choices)
    description = StrictCharField(max_length=5000, required=False, allow_blank=True)
    merchant_promise = StrictCharField(max_length=2000, required=False, allow_blank=True)
    consumer = ConsumerSerializer()
    claims = ClaimSerializer(many=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    assignee: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, read_only=True, allow_blank=True,
                                      help_text="Empty until the case is resolved.")

    class Meta:
        model = Case
        fields = [
            "id", "reference", "platform", "merchant_name", "order_number", "product_type", "face_value",
            "amount_paid", "payment_channel", "purchased_at", "delivered_at", "problem_found_at",
            "dispute_type", "description", "merchant_promise", "fraud_suspected", "deception",
            "key_redeemed_on_receipt", "consumer_is_minor", "for_resale", "consumer_province", "payment_reference",
            "payee_account", "waiting_on_consumer", "consumer", "claims", "status", "assignee", "outcome", "amount_recovered", "resolution",
            "consumer_rating", "closed_at", "version", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "reference", "status", "assignee", "outcome", "amount_recovered", "resolution",
                            "consumer_rating", "closed_at", "version", "created_at", "updated_at"]
        extra_kwargs = {"waiting_on_consumer": {"required": False}, "fraud_suspected": {"required": False},
                        "consumer_is_minor": {"required": False}, "for_resale": {"required": False}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["merchant_name"] = instance.merchant.name if instance.merchant_id else ""
        if isinstance(type(self)._declared_fields.get("consumer"), ConsumerSerializer):  # the class's, not built
            personal_data_shown(consumer=instance.consumer, case=instance)
        return data

    def validate_order_number(self, value):
        value = value.strip()
        if not ORDER_RE.match(value):
            raise serializers.ValidationError(_("Letters, digits and - _ . / # : only."))
        return value

    def validate_claims(self, value):
        if len(value) > len(ClaimKind.values):
            raise serializers.ValidationError(_("At most one claim of each kind."))
        return value


class CaseListSerializer(CaseSerializer):
    consumer = MaskedConsumerSerializer(read_only=True)  # type: ignore[assignment]  # the list shows the masked consumer


class TransitionOutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    amount_recovered = money_field(required=False, allow_null=True)
    resolution = StrictCharField(max_length=2000, required=False, allow_blank=True)
    consumer_rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True,
                                               help_text="The consumer's own rating of the outcome, 1–5.")


class TransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices)
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    outcome = TransitionOutcomeSerializer(required=False, help_text="Required when `to` is resolved.")


class AssignSerializer(serializers.Serializer):
    assignee = IdField(allow_null=True, help_text="A staff user of your organization, or null to unassign.")
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class CaseEventSerializer(StrictModelSerializer):
    actor = StrictCharField(source="actor_display", read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "from_status", "to_status", "note", "data", "actor", "occurred_at", "recorded_at"]


class PlatformSerializer(StrictModelSerializer):
    domains = serializers.ListField(child=StrictCharField(max_length=253), max_length=20, required=False)
    complaint_window_hours = serializers.IntegerField(
        min_value=1, max_value=24 * 30, required=False,
        help_text="The platform's published complaint window: typically 24, 48, 72 or 168 (7 days).",
    )
    response_working_days = serializers.IntegerField(min_value=1, max_value=30, required=False)

    class Meta:
        model = Platform
        fields = ["id", "name", "domains", "company_name", "credit_code", "icp_number", "address", "has_deposit_scheme",
                  "complaint_window_hours", "complaint_window_from", "response_working_days", "cross_border",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": [no_bidi_controls]}}  # unique: checked by platform_save

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("A platform needs a name."))
        return value

    def validate_domains(self, value):
        cleaned = []
        for domain in value:
            domain = domain.strip().lower()
            if not HOST_RE.match(domain):
                raise serializers.ValidationError(
                    _("Not a domain name: %(domain)s.") % {"domain": repr(domain[:60])})
            cleaned.append(domain)
        return sorted(set(cleaned))

    def validate_credit_code(self, value):
        value = value.strip().upper()
        if value and not CREDIT_CODE_RE.match(value):
            raise serializers.ValidationError(
                _("A unified social credit code has 18 characters (GB 32100)."))
        return value


class MerchantSerializer(StrictModelSerializer):
    platform = SafePrimaryKeyRelatedField(queryset=Platform.objects.all())

    class Meta:
        model = Merchant
        fields = ["id", "platform", "name", "shop_url", "unreachable", "operator_name", "operator_credit_code",
                  "operator_address", "contact", "created_at"]
        read_only_fields = ["id", "created_at"]


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)

    def validate(self, attrs):
        from django.contrib.auth import authenticate

        request = self.context.get("request")
        # django-axes counts failures per account on the Django request (its middleware answers a lockout).
        http_request = getattr(request, "_request", request)
        user = authenticate(request=http_request, username=attrs["username"], password=attrs["password"])
        if user is None or not user.is_active:
            raise serializers.ValidationError(_("Unable to log in with the username and password given."),
                                              code="authorization")
        return {"user": user}


class TokenSerializer(serializers.Serializer):
    token = StrictCharField()
    expiry = serializers.DateTimeField(help_text="When the token stops working; log in again after it.")


class MeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("user", "user"), ("api_key", "api_key")],
                                   help_text="A staff user (token or session) or a partner app's key.")
    id = serializers.CharField(help_text="The user's id, or `api-key-<id>` for a key.")
    username = serializers.CharField(help_text="The username, or `api-key:<prefix>` for a key.")
    organization = serializers.IntegerField(allow_null=True, help_text="The caller's organization (id).")
    role = serializers.CharField(allow_blank=True,
                                 help_text="intake, handler, supervisor, analyst, or partner for a key.")
    token_expiry = serializers.DateTimeField(allow_null=True, help_text="When this staff token expires (null for a key or a session).")
