from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.codes import DisputeType, Outcome, ProductType, Status

MAX_SPAN_DAYS = 3660


class StatsQuerySerializer(serializers.Serializer):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD&product_type=&dispute_type= (and interval for trends)."""

    to = serializers.DateField(required=False)
    product_type = serializers.ChoiceField(choices=ProductType.choices, required=False)
    dispute_type = serializers.ChoiceField(choices=DisputeType.choices, required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)  # "from" is a Python keyword
        return fields

    def validate(self, attrs):
        date_to = attrs.get("to") or timezone.localdate()
        date_from = attrs.get("from") or date_to - timedelta(days=364)
        if date_from > date_to:
            raise serializers.ValidationError({"from": _("'from' must not be after 'to'.")})
        if (date_to - date_from).days > MAX_SPAN_DAYS:
            raise serializers.ValidationError({"from": _("The period may span at most ten years.")})
        attrs["from"], attrs["to"] = date_from, date_to
        return attrs


class ExportQuerySerializer(StatsQuerySerializer):
    """The period and filters, plus how a file is labelled: `lang` (zh, en) and `headers` (labels, codes)."""

    lang = serializers.ChoiceField(choices=[("zh", "zh"), ("en", "en")], required=False, default="zh")
    headers = serializers.ChoiceField(choices=[("labels", "labels"), ("codes", "codes")], required=False,
                                      default="labels")


class ReportQuerySerializer(serializers.Serializer):
    """?from=&to= (default: the last complete quarter) &lang=zh|en."""

    to = serializers.DateField(required=False)
    lang = serializers.ChoiceField(choices=[("zh", "zh"), ("en", "en")], required=False, default="zh")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        return fields

    def validate(self, attrs):
        from stats.reports import last_quarter

        if "from" not in attrs and "to" not in attrs:
            attrs["from"], attrs["to"] = last_quarter(timezone.localdate())
            return attrs
        date_to = attrs.get("to") or timezone.localdate()
        date_from = attrs.get("from") or date_to - timedelta(days=90)
        if date_from > date_to:
            raise serializers.ValidationError({"from": _("'from' must not be after 'to'.")})
        if (date_to - date_from).days > MAX_SPAN_DAYS:
            raise serializers.ValidationError({"from": _("The period may span at most ten years.")})
        attrs["from"], attrs["to"] = date_from, date_to
        return attrs


class PreparedReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    scope = serializers.ChoiceField(choices=[("organization", "organization"), ("national", "national")])
    lang = serializers.CharField()
    created_at = serializers.DateTimeField()
    xlsx_url = serializers.CharField()
    docx_url = serializers.CharField()


class TrendQuerySerializer(ExportQuerySerializer):
    interval = serializers.ChoiceField(choices=[("week", "week"), ("month", "month")], required=False,
                                       default="month")


class RateSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="numerator / denominator; null when withheld")
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    withheld_reason = serializers.CharField(allow_null=True)


class DurationSerializer(serializers.Serializer):
    median = serializers.FloatField(allow_null=True, help_text="minutes (exact, percentile_cont)")
    p90 = serializers.FloatField(allow_null=True, help_text="minutes (exact, percentile_cont)")
    count = serializers.IntegerField()
    withheld_reason = serializers.CharField(allow_null=True)


class RatingSerializer(serializers.Serializer):
    average = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
    withheld_reason = serializers.CharField(allow_null=True)


class MerchantCountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    complaints = serializers.IntegerField()


def _counts(keys, help_text):
    return serializers.DictField(child=serializers.IntegerField(), help_text=f"{help_text}: {', '.join(keys)}")


class FiguresSerializer(serializers.Serializer):
    complaints = serializers.IntegerField(help_text="complaints opened in the period")
    by_status = _counts(Status.values, "current status of those complaints")
    by_dispute_type = _counts(DisputeType.values, "complaints per dispute type (only non-zero)")
    closed = serializers.IntegerField()
    outcomes = _counts(Outcome.values, "resolved complaints per outcome")
    resolution_rate = RateSerializer(help_text="resolved / closed (resolved, rejected, withdrawn)")
    favourable_rate = RateSerializer(help_text="resolved in the consumer's favour / closed")
    platform_response_rate = RateSerializer(help_text="answered by the platform / escalated to the platform")
    platform_response_in_window_rate = RateSerializer(
        help_text="answered by the platform by due_at / escalated to the platform")
    platform_response_minutes = DurationSerializer()
    resolution_minutes = DurationSerializer(help_text="opened → closed, resolved complaints")
    amount_disputed = serializers.DecimalField(max_digits=18, decimal_places=2)
    amount_recovered = serializers.DecimalField(max_digits=18, decimal_places=2)
    escalation_levels = _counts(["1", "2", "3", "4"], "complaints by the highest escalation level reached")
    highest_escalation_level = serializers.IntegerField(allow_null=True)
    consumer_rating = RatingSerializer()


class PlatformStatsSerializer(FiguresSerializer):
    platform = serializers.DictField(help_text="{id, name}")
    top_merchants = MerchantCountSerializer(many=True)


class TrendPointSerializer(FiguresSerializer):
    start = serializers.DateField()
    end = serializers.DateField()


class TrendSerializer(serializers.Serializer):
    platform = serializers.DictField(help_text="{id, name}")
    interval = serializers.ChoiceField(choices=[("week", "week"), ("month", "month")])
    period = serializers.DictField(help_text="{from, to}")
    scope = serializers.ChoiceField(choices=[("organization", "organization"), ("national", "national")])
    results = TrendPointSerializer(many=True)


class GroupComplaintSerializer(serializers.Serializer):
    cases = serializers.IntegerField(help_text="your organization's cases in the incident")
    victims = serializers.IntegerField(help_text="distinct consumers among those cases")
    amount_disputed = serializers.DecimalField(max_digits=18, decimal_places=2)
    amount_recovered = serializers.DecimalField(max_digits=18, decimal_places=2)


class MassIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField(help_text="群体投诉：platform (day)")
    group = GroupComplaintSerializer(help_text="the incident as a group complaint (群体投诉), over your cases")
    platform = serializers.DictField(help_text="{id, name}")
    day = serializers.DateField()
    detected_at = serializers.DateTimeField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="complaints against the platform in the window (all organizations)")
    baseline_mean = serializers.FloatField()
    baseline_stddev = serializers.FloatField()
    threshold = serializers.FloatField()
    cases = serializers.ListField(child=serializers.DictField(), help_text="your organization's cases: {id, reference, status, amount_paid}")
