from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kameng_api.core.fields import IdField, NullableChoiceField, StrictCharField, StrictModelSerializer

from ..codes import (
    Decision,
    DocumentKind,
    RefusalGround,
    SessionMode,
    SessionOutcome,
    Stage,
    SupportStatus,
    TerminationReason,
    Track,
    WaitingOn,
)
from ..models import (
    IssuedDocument,
    LawsuitSupport,
    MediationSession,
    Pause,
    PublicInterestFile,
    Victim,
)
from ..rules import refusal_basis

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0"), "max_value": Decimal("100000000")}


def _rule(version) -> dict | None:
    if version is None:
        return None
    return {"law": version.law, "article": version.article or None, "value": str(version.value),
            "unit": version.unit, "effective_from": version.effective_from.isoformat(),
            "confirmed": version.confirmed}


class RuleSerializer(serializers.Serializer):
    law = serializers.CharField()
    article = serializers.CharField(allow_null=True, help_text="null: the article number is unconfirmed.")
    value = serializers.CharField()
    unit = serializers.CharField()
    effective_from = serializers.DateField()
    confirmed = serializers.BooleanField(help_text="False: not checked against an official text.")


class ClockSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(allow_null=True)
    limit = serializers.IntegerField(allow_null=True, help_text="In `unit`, as the rule says.")
    unit = serializers.CharField(allow_null=True)
    units_given_back = serializers.IntegerField(help_text="Units added back by pauses (waiting on a party).")
    running = serializers.BooleanField()
    overdue = serializers.BooleanField()
    rule = RuleSerializer(allow_null=True)


class PauseSerializer(StrictModelSerializer):
    class Meta:
        model = Pause
        fields = ["clock", "waiting_on", "reason", "started_at", "ended_at", "units"]
        read_only_fields = fields


class SessionSerializer(StrictModelSerializer):
    class Meta:
        model = MediationSession
        fields = ["id", "held_at", "mode", "mediator", "consumer_attended", "merchant_representative",
                  "other_participants", "consumer_proposal", "merchant_proposal", "outcome", "note",
                  "created_at", "updated_at"]
        read_only_fields = fields


class SessionWriteSerializer(serializers.Serializer):
    held_at = serializers.DateTimeField()
    mode = serializers.ChoiceField(choices=SessionMode.choices, default=SessionMode.PHONE)
    mediator = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    consumer_attended = serializers.BooleanField(default=True)
    merchant_representative = StrictCharField(max_length=200, required=False, allow_blank=True, default="",
                                              help_text="Name and position of who spoke for the merchant.")
    other_participants = StrictCharField(max_length=300, required=False, allow_blank=True, default="")
    consumer_proposal = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")
    merchant_proposal = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(choices=SessionOutcome.choices, default=SessionOutcome.CONTINUE)
    note = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")


class SessionPatchSerializer(SessionWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class AgreementOutSerializer(serializers.Serializer):
    signed_at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    pay_by = serializers.DateField()
    terms = serializers.CharField()
    if_unpaid = serializers.CharField()
    performed_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    performed_on_time = serializers.BooleanField(allow_null=True)


class TerminationOutSerializer(serializers.Serializer):
    terminated_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=TerminationReason.choices)
    note = serializers.CharField()


class CompetentPlaceSerializer(serializers.Serializer):
    where = serializers.ChoiceField(choices=[("merchant_place", "merchant_place"),
                                             ("platform_domicile", "platform_domicile")])
    name = serializers.CharField()
    address = serializers.CharField(allow_null=True, help_text="null: not recorded; find it before forwarding.")


class ProcedureSerializer(serializers.Serializer):
    """The procedure as the API shows it: stage, the decision, the clocks, the outcome."""

    case = serializers.IntegerField(source="case_id")
    track = serializers.ChoiceField(choices=Track.choices)
    stage = serializers.ChoiceField(choices=Stage.choices)
    registered_at = serializers.DateTimeField()
    rules_on = serializers.DateField(source="rule_on", help_text="The day whose rule versions count.")
    decision = NullableChoiceField(choices=Decision.choices)
    ground = NullableChoiceField(choices=RefusalGround.choices, source="refusal_ground")
    ground_citation = serializers.SerializerMethodField()
    decision_note = serializers.CharField()
    forwarded_to = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.SerializerMethodField()
    approved_by = serializers.SerializerMethodField(help_text="The supervisor who approved a refusal.")
    competent_place = serializers.SerializerMethodField(
        help_text="Where a forwarded complaint goes: the seller's place of business, or the platform operator's "
                  "domicile when the seller gave no valid address (or is unreachable).")
    acceptance_clock = serializers.SerializerMethodField()
    mediation_clock = serializers.SerializerMethodField()
    provisional = serializers.BooleanField(help_text="A due date counted Monday–Friday: the holiday schedule "
                                                     "of its year is not entered yet.")
    paused_at = serializers.DateTimeField(allow_null=True)
    paused_waiting_on = NullableChoiceField(choices=WaitingOn.choices)
    pauses = PauseSerializer(many=True)
    agreement = serializers.SerializerMethodField()
    termination = serializers.SerializerMethodField()
    closed_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_decided_by(self, obj) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by_id else None

    def get_approved_by(self, obj) -> str | None:
        return obj.approved_by.get_username() if obj.approved_by_id else None

    @extend_schema_field(CompetentPlaceSerializer)
    def get_competent_place(self, obj):
        merchant, platform = obj.case.merchant, obj.case.platform
        if merchant is not None and merchant.operator_address and not merchant.unreachable:
            return {"where": "merchant_place", "name": merchant.operator_name or merchant.name,
                    "address": merchant.operator_address}
        return {"where": "platform_domicile", "name": platform.company_name or platform.name,
                "address": platform.address or None}

    def get_ground_citation(self, obj) -> str | None:
        if not obj.refusal_ground:
            return None
        return refusal_basis(obj.refusal_ground, track=obj.track, on=obj.rule_on).citation

    def _clock(self, due, limit, unit, given, running, rule) -> dict:
        now = timezone.now()
        return {"due_at": due, "limit": limit, "unit": unit or None, "units_given_back": given, "running": running,
                "overdue": bool(running and due and due < now), "rule": _rule(rule)}

    @extend_schema_field(ClockSerializer)
    def get_acceptance_clock(self, obj) -> dict:
        running = obj.stage in (Stage.REGISTERED, Stage.REFUSAL_PROPOSED) and obj.paused_at is None
        return self._clock(obj.acceptance_due_at, obj.acceptance_units, obj.acceptance_unit, obj.acceptance_paused,
                           running, obj.acceptance_rule)

    @extend_schema_field(ClockSerializer(allow_null=True))
    def get_mediation_clock(self, obj):
        if obj.mediation_units is None:
            return None
        running = obj.stage == Stage.ACCEPTED and obj.paused_at is None
        return self._clock(obj.mediation_due_at, obj.mediation_units, obj.mediation_unit, obj.mediation_paused,
                           running, obj.mediation_rule)

    @extend_schema_field(AgreementOutSerializer(allow_null=True))
    def get_agreement(self, obj):
        if obj.agreement_at is None:
            return None
        today = timezone.localdate()
        return {"signed_at": obj.agreement_at, "amount": f"{obj.agreement_amount:.2f}", "pay_by": obj.agreement_pay_by,
                "terms": obj.agreement_terms, "if_unpaid": obj.agreement_if_unpaid, "performed_at": obj.performed_at,
                "overdue": obj.performed_at is None and obj.agreement_pay_by < today,
                "performed_on_time": (None if obj.performed_at is None else
                                      timezone.localtime(obj.performed_at).date() <= obj.agreement_pay_by)}

    @extend_schema_field(TerminationOutSerializer(allow_null=True))
    def get_termination(self, obj):
        if obj.terminated_at is None:
            return None
        return {"terminated_at": obj.terminated_at, "reason": obj.termination_reason, "note": obj.termination_note}


class MediationSerializer(ProcedureSerializer):
    sessions = SessionSerializer(many=True)


class AcceptanceDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    ground = serializers.ChoiceField(choices=RefusalGround.choices, required=False, allow_blank=True, default="",
                                     help_text="Required for `refuse`: one of the closed list.")
    note = StrictCharField(max_length=5000, required=False, allow_blank=True, default="",
                           help_text="The facts the decision rests on (printed in the notice).")
    forwarded_to = StrictCharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="Required for `forward`: the competent body.")
    decided_at = serializers.DateTimeField(required=False, help_text="Default: now.")


class ReviewSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class PauseWriteSerializer(serializers.Serializer):
    waiting_on = serializers.ChoiceField(choices=WaitingOn.choices)
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    at = serializers.DateTimeField(required=False)


class ResumeSerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False)


class AgreementSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY)
    pay_by = serializers.DateField()
    terms = StrictCharField(max_length=5000)
    if_unpaid = StrictCharField(max_length=2000, help_text="What happens if the merchant does not pay in time.")
    signed_at = serializers.DateTimeField(required=False)


class PerformanceSerializer(serializers.Serializer):
    performed_at = serializers.DateTimeField(required=False)
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class TerminationSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=TerminationReason.choices)
    note = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")
    at = serializers.DateTimeField(required=False)


class SupportSerializer(StrictModelSerializer):
    proposed_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username",
                                                                                  read_only=True, allow_null=True)
    approved_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username",
                                                                                  read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=SupportStatus.choices, read_only=True)

    class Meta:
        model = LawsuitSupport
        fields = ["court", "facts_found", "opinion", "status", "proposed_by", "approved_by", "approved_at",
                  "created_at"]
        read_only_fields = ["status", "proposed_by", "approved_by", "approved_at", "created_at"]
        extra_kwargs = {"court": {"max_length": 200}, "facts_found": {"max_length": 10000},
                        "opinion": {"max_length": 10000}}


class SupportStateSerializer(serializers.Serializer):
    support = SupportSerializer(allow_null=True, help_text="null: no support to sue recorded yet.")


class DocumentSerializer(StrictModelSerializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    links = serializers.SerializerMethodField()

    class Meta:
        model = IssuedDocument
        fields = ["id", "kind", "number", "issued_at", "links"]
        read_only_fields = fields

    def get_links(self, obj) -> dict[str, str]:
        base = f"/api/v1/cases/{obj.case_id}/documents/issued/{obj.pk}/"
        return {f"{lang}.{fmt}": f"{base}?lang={lang}&format={fmt}" for lang in ("zh-hans", "en")
                for fmt in ("txt", "docx")}


class DocumentListSerializer(serializers.Serializer):
    issued = DocumentSerializer(many=True, help_text="Documents the organization issued on the case (fixed "
                                                     "text, numbered).")
    generated = serializers.DictField(child=serializers.CharField(), help_text="The case's letters made on "
                                      "demand (escalation documents): kind → URL.")


class VictimSerializer(StrictModelSerializer):
    case = IdField(source="case_id", allow_null=True, required=False)

    class Meta:
        model = Victim
        fields = ["id", "case", "name", "loss", "note", "added_at"]
        read_only_fields = ["id", "added_at"]
        extra_kwargs = {"name": {"required": False}, "loss": {"required": False, "min_value": Decimal("0"),
                                                              "max_value": Decimal("100000000")}}


class PublicInterestFileSerializer(StrictModelSerializer):
    victims = VictimSerializer(many=True, read_only=True)
    victim_count = serializers.SerializerMethodField()
    total_loss = serializers.SerializerMethodField()

    class Meta:
        model = PublicInterestFile
        fields = ["id", "title", "platform", "respondent", "conduct", "victims", "victim_count", "total_loss",
                  "opened_at", "updated_at"]
        read_only_fields = ["id", "victims", "opened_at", "updated_at"]

    def get_victim_count(self, obj) -> int:
        return len(obj.victims.all())

    def get_total_loss(self, obj) -> str:
        return f"{sum((v.loss for v in obj.victims.all()), Decimal(0)):.2f}"


class StatsSerializer(serializers.Serializer):
    registered = serializers.IntegerField()
    pending = serializers.IntegerField()
    accepted = serializers.IntegerField()
    refused = serializers.IntegerField()
    refused_by_ground = serializers.DictField(child=serializers.IntegerField())
    forwarded = serializers.IntegerField()
    decided_on_time = serializers.IntegerField()
    mediating = serializers.IntegerField()
    agreements = serializers.IntegerField()
    performed = serializers.IntegerField()
    performed_on_time = serializers.IntegerField()
    agreements_overdue = serializers.IntegerField()
    terminated = serializers.IntegerField()
    lawsuits_supported = serializers.IntegerField()
    median_days_to_acceptance = serializers.FloatField(allow_null=True)
    median_days_to_close = serializers.FloatField(allow_null=True)
