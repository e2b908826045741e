from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.api.serializers import ConsumerSerializer
from kameng_api.core.fields import StrictCharField


class SubjectSerializer(serializers.Serializer):
    """Who: the person's phone number or ID number (either; both narrow nothing, they add up). Sent in the
    body of a POST, never in a URL, so no access log holds them."""

    phone = StrictCharField(max_length=20, required=False, allow_blank=True)
    id_number = StrictCharField(max_length=18, required=False, allow_blank=True)

    def validate(self, attrs):
        if not (attrs.get("phone", "").strip() or attrs.get("id_number", "").strip()):
            raise serializers.ValidationError(_("Give the person's phone number or ID number."),
                                              code="subject_required")
        return attrs


class CorrectedFieldsSerializer(ConsumerSerializer):
    """The fields to correct, checked like at intake; any subset."""

    name = StrictCharField(max_length=100, required=False, validators=ConsumerSerializer().fields["name"].validators)


class CorrectionSerializer(SubjectSerializer):
    set = CorrectedFieldsSerializer()

    def validate_set(self, value):
        if not value:
            raise serializers.ValidationError(_("Name at least one field to correct."), code="empty")
        return value


class SubjectCasesSerializer(serializers.Serializer):
    records = serializers.IntegerField(help_text="Consumer records found (one per case filed).")
    cases = serializers.ListField(child=serializers.DictField())
