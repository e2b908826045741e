from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from kameng_api.core.fields import NullableChoiceField, StrictCharField, StrictModelSerializer
from kameng_api.core.representation import CompiledRepresentation

from ..codes import Channel, EscalationOutcome, SkipReason
from ..models import CalendarDay, Deadline, Escalation


class EscalationSerializer(StrictModelSerializer):
    approved_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                               help_text="The supervisor who approved the legal level, or null.")
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="null when a partner key or a removed user created it.")
    skip_reason = NullableChoiceField(choices=SkipReason.choices, read_only=True,
                                      help_text="Why rungs were skipped; null when none was.")
    provisional = serializers.SerializerMethodField(help_text="The due date is counted Monday–Friday: the "
                                                    "holiday schedule of that year is not entered yet.")

    class Meta:
        model = Escalation
        fields = ["id", "case", "channel", "level", "submitted_at", "external_reference", "skip_reason", "skip_note",
                  "due_at", "provisional", "response", "responded_at", "outcome", "approved_by", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_provisional(self, obj) -> bool:
        return any(d.provisional and d.status == "open" for d in obj.deadlines.all())


class EscalationCreateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    submitted_at = serializers.DateTimeField()
    external_reference = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    skip_reason = serializers.ChoiceField(choices=SkipReason.choices, required=False, allow_blank=True, default="")
    skip_note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


ANSWER_OUTCOMES = [(v, label) for v, label in EscalationOutcome.choices if v != EscalationOutcome.PENDING]


class EscalationAnswerSerializer(serializers.Serializer):
    response = StrictCharField(max_length=10000, required=False, allow_blank=True)
    responded_at = serializers.DateTimeField(required=False)
    outcome = serializers.ChoiceField(choices=ANSWER_OUTCOMES, required=False)


class DeadlineSerializer(CompiledRepresentation, StrictModelSerializer):
    case_reference = StrictCharField(read_only=True)  # annotated by escalation.selectors.deadline_list
    overdue = serializers.SerializerMethodField()
    suspended = serializers.SerializerMethodField()
    met_late = serializers.SerializerMethodField(help_text="Met, but after the due date (not 'on time').")
    rule = serializers.SerializerMethodField(help_text="The statutory rule version the clock was counted on: "
                                                       "law, article, dates, and whether it is confirmed.")

    class Meta:
        model = Deadline
        fields = ["id", "case", "case_reference", "escalation", "kind", "starts_at", "due_at", "late_at",
                  "very_late_at", "working_days", "hours", "day_based", "provisional", "status", "suspended",
                  "suspended_at", "overdue", "met_late", "warning", "rule", "extension_reason", "met_at",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_met_late(self, obj) -> bool:
        return obj.status == "met" and obj.met_at is not None and obj.met_at > obj.due_at

    def get_rule(self, obj) -> dict | None:
        version = obj.rule_version
        if version is None:
            return None
        return {"id": version.pk, "key": version.key, "citation": version.citation, "law": version.law,
                "article": version.article, "effective_from": version.effective_from.isoformat(),
                "effective_to": version.effective_to.isoformat() if version.effective_to else None,
                "confirmed": version.confirmed}

    def get_overdue(self, obj) -> bool:
        return obj.status == "open" and obj.suspended_at is None and obj.due_at < self._now()

    def _now(self):
        """One "now" for a whole list (a list reuses this serializer for every row)."""
        if getattr(self, "_now_value", None) is None:
            self._now_value = timezone.now()
        return self._now_value

    def get_suspended(self, obj) -> bool:
        return obj.suspended_at is not None


class DeadlineSuspendSerializer(serializers.Serializer):
    note = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class DeadlineExtendSerializer(serializers.Serializer):
    extend_by = serializers.IntegerField(min_value=1, max_value=365,
                                         help_text="In the deadline's unit: working days if it counts working "
                                                   "days, else hours.")
    reason = StrictCharField(max_length=1000)


class AlternativeSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    level = serializers.IntegerField()
    reason = StrictCharField()


class RecommendationSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    level = serializers.IntegerField()
    reasons = serializers.ListField(child=StrictCharField())
    due_at = serializers.DateTimeField(help_text="When the channel's answer would be due if submitted now.")
    provisional = serializers.BooleanField()
    skip_reason = NullableChoiceField(choices=SkipReason.choices,
                                      help_text="The skip reason to give when this channel skips a rung; null "
                                                "when it skips none.")
    also = AlternativeSerializer(many=True)
    rules = serializers.ListField(child=StrictCharField())
    warnings = serializers.ListField(child=serializers.CharField(), help_text="Said at once: windows closing, "
                                     "double filing, reseller, minor, small-claims limit, unconfirmed rules.")
    refund_basis = serializers.CharField(help_text="Which law grounds a refund of this digital good (CPL art. 24 "
                                         "defect vs art. 25 no-reason exclusion), in words.")
    rule_versions = serializers.ListField(child=serializers.DictField(), help_text="The statutory values used, "
                                         "with law, article, effective dates and `confirmed`.")


class CalendarDaySerializer(StrictModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["date", "is_working_day", "name"]
        extra_kwargs: dict[str, dict[str, Any]] = {"date": {"validators": []}}


class CalendarYearSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    # many=True hands max_length to the ListSerializer (DRF 3.14+); the stubs do not list it
    days = CalendarDaySerializer(many=True, max_length=366, allow_empty=False)  # type: ignore[call-arg]
    schedule_entered = serializers.BooleanField(
        required=False, default=True,
        help_text="The year's State Council schedule is entered as a whole: its deadlines stop being provisional.")


class CalendarYearResultSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    days = serializers.IntegerField()
    recomputed_deadlines = serializers.IntegerField()
    schedule_entered = serializers.BooleanField()


class CalendarYearStatusSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    known = serializers.BooleanField()
    source = serializers.ChoiceField(choices=[("library", "library"), ("overrides", "overrides"),  # type: ignore[assignment]  # a field named like a Field attribute (DRF takes declared fields off the class)
                                              ("missing", "missing")])
    override_days = serializers.IntegerField()


class CalendarStatusSerializer(serializers.Serializer):
    years = CalendarYearStatusSerializer(many=True)
    provisional_open_deadlines = serializers.IntegerField()
    notices = serializers.ListField(child=StrictCharField())




def paginated(serializer_class, name: str):
    """The page envelope of API.md (`count, next, previous, results`) for views that paginate by hand."""
    return type(name, (serializers.Serializer,), {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    })


PaginatedEscalationSerializer = paginated(EscalationSerializer, "PaginatedEscalationList")
PaginatedCalendarDaySerializer = paginated(CalendarDaySerializer, "PaginatedCalendarDayList")


class CaseWaitingSerializer(serializers.Serializer):
    waiting = serializers.BooleanField(help_text="true: the case waits on the consumer (clocks stop); false: resume.")
    note = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class CaseWaitingResultSerializer(serializers.Serializer):
    waiting_on_consumer = serializers.BooleanField()
    deadlines_changed = serializers.IntegerField()
