from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kameng_api.core.fields import IdField, StrictCharField, StrictModelSerializer
from kameng_api.core.representation import CompiledRepresentation

from .. import selectors
from ..codes import EvidenceKind, Stage
from ..models import Evidence

TIMESTAMP_STATUSES = [("not_configured", "not_configured"), ("pending", "pending"), ("stamped", "stamped"),
                      ("failed", "failed")]


class TimestampStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TIMESTAMP_STATUSES, help_text=(
        "not_configured: no TSA is configured; pending: requested, the token has not arrived yet; stamped: a "
        "verified RFC 3161 token is stored; failed: every attempt failed (see error), retried later."))
    label = serializers.CharField(help_text="The status in words, e.g. 'stamped at <time> by <TSA>'.")  # type: ignore[assignment]  # a field named like a Field attribute (DRF takes declared fields off the class)
    stamped_at = serializers.DateTimeField(allow_null=True, help_text="genTime of the token (the TSA's time).")
    tsa = serializers.CharField(allow_blank=True, help_text="The TSA named in the token.")
    tsa_url = serializers.CharField(allow_blank=True)
    serial = serializers.CharField(allow_blank=True, help_text="The token's serial number.")
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True, help_text="Why the last attempt failed.")
    next_attempt_at = serializers.DateTimeField(allow_null=True)

MAX_DESCRIPTION = 2000


class EvidenceSerializer(CompiledRepresentation, StrictModelSerializer):
    case = serializers.IntegerField(source="case_id", read_only=True)
    uploaded_by = StrictCharField(source="uploaded_by_label", read_only=True)
    supersedes = serializers.IntegerField(source="supersedes_id", read_only=True, allow_null=True)
    superseded_by = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    timestamp = serializers.SerializerMethodField(help_text="The RFC 3161 trusted timestamp of the file's SHA-256.")

    class Meta:
        model = Evidence
        fields = ["id", "case", "sequence", "kind", "stage", "original_name", "sha256", "size", "content_type",
                  "occurred_at", "captured_at", "uploaded_by", "description", "status", "withdraw_reason",
                  "withdrawn_at", "supersedes", "superseded_by", "prev_hash", "entry_hash", "download_url",
                  "timestamp"]
        read_only_fields = fields

    def get_superseded_by(self, obj) -> int | None:
        try:
            return obj.superseded_by.pk
        except Evidence.DoesNotExist:
            return None

    def get_download_url(self, obj) -> str:
        return f"/api/v1/evidence/{obj.pk}/download/"

    @extend_schema_field(TimestampStatusSerializer)
    def get_timestamp(self, obj) -> dict:
        return TimestampStatusSerializer(selectors.timestamp_status(selectors.item_timestamp(obj))).data


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
            raise serializers.ValidationError({"reason": _("Say why the earlier item is superseded.")})
        return attrs


class WithdrawSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)


class MissingSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, help_text="The kind to add.")
    kinds = serializers.ListField(child=StrictCharField(), help_text="Any one of these meets the need.")
    message = StrictCharField()


class FactMissingSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The case's record that is missing (respondent, key_redeemed_on_receipt).")
    message = serializers.CharField()


class CompletenessSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=100)
    complete = serializers.BooleanField()
    missing = MissingSerializer(many=True)
    facts_missing = FactMissingSerializer(many=True, required=False,
                                          help_text="What the case record itself lacks (not evidence files).")
    notes = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text="Law to put to a platform asking for proof only it holds.")


class TimelineEventSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=[("fact", "fact"), ("evidence", "evidence"), ("case_event", "case_event")])
    code = StrictCharField()
    label = StrictCharField()  # type: ignore[assignment]  # a field named like a Field attribute (DRF takes declared fields off the class)
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
    source = StrictCharField()  # type: ignore[assignment]  # a field named like a Field attribute (DRF takes declared fields off the class)


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


class PendingCheckSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["queued", "running"])
    requested_at = serializers.DateTimeField()


class FilesCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["never_checked", "checked"],
                                     help_text="Whether the stored files were ever re-hashed in the background.")
    checked_at = serializers.DateTimeField(allow_null=True, help_text="When the last file check finished.")
    intact = serializers.BooleanField(allow_null=True, help_text="What the last file check found.")
    files_checked = serializers.IntegerField()
    up_to_sequence = serializers.IntegerField(help_text="The last chain entry the check covered.")
    covers_all = serializers.BooleanField(help_text="False when evidence was added after the last check.")
    problems = ProblemSerializer(many=True)
    pending = PendingCheckSerializer(allow_null=True, help_text="A check queued or running now.")


class TimestampsCheckSerializer(serializers.Serializer):
    configured = serializers.BooleanField(help_text="Whether a TSA is configured.")
    checked_against_ca = serializers.BooleanField(help_text="Whether the tokens' signatures were re-verified "
                                                           "against the configured TSA CA certificates.")
    pending = serializers.IntegerField()
    stamped = serializers.IntegerField()
    failed = serializers.IntegerField()
    verified = serializers.IntegerField(help_text="Stamped tokens whose signature and imprint check out now.")
    head = TimestampStatusSerializer(allow_null=True, help_text="The timestamp of the current chain head.")


class VerifySerializer(serializers.Serializer):
    intact = serializers.BooleanField(help_text="The chain, and the files as the last file check found them.")
    checked = serializers.IntegerField()
    first_bad = serializers.IntegerField(allow_null=True, help_text="Id of the first evidence item that fails.")
    first_bad_sequence = serializers.IntegerField(allow_null=True)
    head = StrictCharField(help_text="The chain head (SHA-256) recorded by the service.")
    problems = ProblemSerializer(many=True)
    files = FilesCheckSerializer(help_text="The stored files, as the last background re-hash found them "
                                           "(`?deep=true` queues a new one).")
    timestamps = TimestampsCheckSerializer(help_text="The RFC 3161 tokens of the items and chain heads, re-checked.")

