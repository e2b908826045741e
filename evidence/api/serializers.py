from rest_framework import serializers

from kameng_api.core.fields import IdField, StrictCharField, StrictModelSerializer

from ..codes import EvidenceKind, Stage
from ..models import Evidence

MAX_DESCRIPTION = 2000


class EvidenceSerializer(StrictModelSerializer):
    case = serializers.IntegerField(source="case_id", read_only=True)
    uploaded_by = StrictCharField(source="uploaded_by_label", read_only=True)
    supersedes = serializers.IntegerField(source="supersedes_id", read_only=True, allow_null=True)
    superseded_by = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "case", "sequence", "kind", "stage", "original_name", "sha256", "size", "content_type",
                  "occurred_at", "captured_at", "uploaded_by", "description", "status", "withdraw_reason",
                  "withdrawn_at", "supersedes", "superseded_by", "prev_hash", "entry_hash", "download_url"]
        read_only_fields = fields

    def get_superseded_by(self, obj) -> int | None:
        try:
            return obj.superseded_by.pk
        except Evidence.DoesNotExist:
            return None

    def get_download_url(self, obj) -> str:
        return f"/api/v1/evidence/{obj.pk}/download/"


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file (multipart). Its type is judged from its bytes.")
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)
    occurred_at = serializers.DateTimeField(help_text="When the fact shown happened (not the upload time).")
    description = StrictCharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True, default="")
    supersedes = IdField(required=False, help_text="Id of the evidence this file replaces (it becomes superseded).")
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="",
                                   help_text="Why the earlier item is superseded (required with `supersedes`).")

    def validate(self, attrs):
        if attrs.get("supersedes") is not None and not attrs.get("reason", "").strip():
            raise serializers.ValidationError({"reason": "Say why the earlier item is superseded."})
        return attrs


class WithdrawSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)


class MissingSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, help_text="The kind to add.")
    kinds = serializers.ListField(child=StrictCharField(), help_text="Any one of these meets the need.")
    message = StrictCharField()


class CompletenessSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=100)
    complete = serializers.BooleanField()
    missing = MissingSerializer(many=True)


class TimelineEventSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=[("fact", "fact"), ("evidence", "evidence"), ("case_event", "case_event")])
    code = StrictCharField()
    label = StrictCharField()
    stage = StrictCharField(allow_null=True)
    evidence = serializers.IntegerField(allow_null=True)
    detail = serializers.DictField()


class GapSerializer(serializers.Serializer):
    code = StrictCharField()
    # "from" is a keyword: declared below.
    to = serializers.DateTimeField()
    hours = serializers.FloatField()
    limit_hours = serializers.IntegerField()
    message = StrictCharField()
    source = StrictCharField()


GapSerializer._declared_fields["from"] = serializers.DateTimeField()


class TimelineSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    reference = StrictCharField()
    events = TimelineEventSerializer(many=True)
    gaps = GapSerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(allow_null=True)
    evidence = serializers.IntegerField(allow_null=True)
    problem = StrictCharField()


class VerifySerializer(serializers.Serializer):
    intact = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad = serializers.IntegerField(allow_null=True, help_text="Id of the first evidence item that fails.")
    first_bad_sequence = serializers.IntegerField(allow_null=True)
    head = StrictCharField(help_text="The chain head (SHA-256) recorded by the service.")
    problems = ProblemSerializer(many=True)

