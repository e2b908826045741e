"""Summary tables for the statistics API and the mass incidents found by spike detection.

Three derived tables, all rebuilt from cases and escalations (never edited by hand):

- `CaseFact`: one compact row per case with everything the statistics need (no personal data).
- `DailyStat`: counts and sums per (organization, platform, day opened, product type, dispute type,
  current status). Any period is a SUM over few rows.
- `DurationBucket`: exact histograms of durations in whole minutes per (organization, platform, day,
  product type, dispute type, metric): an exact median / p90 over any period is a cumulative-count
  walk over these rows, never an average of daily medians.
- Composable summaries (`DaySummary`, `MonthSummary`, and per product / dispute type `DayTypeSummary`,
  `MonthTypeSummary`, `MonthTypeMerchant`): plain sums that add up to any period (stats/ranges.py).
- Monthly rollups (`Month*`) and period summaries (`StatsPeriod` + `Period*`): the final figures of
  standard periods (each calendar year, the last 365 days ending today), kept exact by the refresh.

Every summary table is unique on its key: the incremental refresh adds the signed difference of the
changed cases' facts (old −1, new +1) with an upsert, so it touches only the rows those cases are in.
"""

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.codes import DisputeType, Status

from . import rules


class Metric(models.IntegerChoices):
    PLATFORM_RESPONSE = 1, _("Platform response time")
    RESOLUTION = 2, _("Time to resolution")


class Fact(models.Model):
    """What the statistics need of one case — no personal data (FACT_COLUMNS in services.py)."""

    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    merchant_id = models.BigIntegerField(null=True)
    day = models.DateField()
    product_type = models.CharField(max_length=20)
    dispute_type = models.CharField(max_length=30)
    status = models.CharField(max_length=20)
    outcome = models.CharField(max_length=20, blank=True)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2)
    amount_recovered = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    consumer_rating = models.SmallIntegerField(null=True)
    resolution_minutes = models.IntegerField(null=True)
    max_level = models.SmallIntegerField(null=True)
    platform_escalated = models.BooleanField(default=False)
    platform_responded = models.BooleanField(default=False)
    platform_in_window = models.BooleanField(default=False)
    platform_response_minutes = models.IntegerField(null=True)
    source_updated_at = models.DateTimeField(null=True)  # latest updated_at of the case and its escalations

    class Meta:
        abstract = True


class CaseFact(Fact):
    case_id = models.BigIntegerField(primary_key=True)

    class Meta:
        indexes = [
            # Trailing duration columns, the merchant and the types: ranking a platform's durations over a
            # period, or counting its merchants over a few days (with a product / dispute type filter too), is
            # an index-only scan.
            models.Index(fields=["platform_id", "organization_id", "day", "resolution_minutes",
                                 "platform_response_minutes"],
                         include=["merchant_id", "product_type", "dispute_type"],
                         name="stats_fact_platform_org_day_m"),
            # A platform's durations in order: the exact value inside one histogram bucket (stats/ranges.py);
            # the types included so that a filtered lookup skips the other types without reading the table.
            models.Index(fields=["platform_id", "organization_id", "platform_response_minutes", "day"],
                         include=["product_type", "dispute_type"],
                         condition=Q(platform_response_minutes__isnull=False), name="stats_fact_response_order"),
            models.Index(fields=["platform_id", "organization_id", "resolution_minutes", "day"],
                         include=["product_type", "dispute_type"],
                         condition=Q(resolution_minutes__isnull=False), name="stats_fact_resolution_order"),
            # A period over every platform (the quarterly report: overall medians, notable cases): a range
            # of this index, read without the table, instead of a scan of every fact.
            models.Index(fields=["day"], include=["organization_id", "status", "platform_response_minutes",
                                                  "resolution_minutes", "amount_paid", "max_level", "case_id"],
                         name="stats_fact_day"),
        ]
        verbose_name = _("case fact")
        verbose_name_plural = _("case facts")

    def __str__(self):
        return f"case {self.case_id}"


class Counts(models.Model):
    """The additive figures of a group of cases: the same columns at every grain (day, month, period)."""

    opened = models.IntegerField(default=0)
    favourable = models.IntegerField(default=0)
    partial = models.IntegerField(default=0)
    unfavourable = models.IntegerField(default=0)
    platform_escalated = models.IntegerField(default=0)
    platform_responded = models.IntegerField(default=0)
    platform_in_window = models.IntegerField(default=0)
    amount_paid = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    amount_recovered = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    rating_sum = models.IntegerField(default=0)
    rating_count = models.IntegerField(default=0)
    level_1 = models.IntegerField(default=0)
    level_2 = models.IntegerField(default=0)
    level_3 = models.IntegerField(default=0)
    level_4 = models.IntegerField(default=0)

    class Meta:
        abstract = True


HISTOGRAM_PREFIX: dict[int, str] = {Metric.PLATFORM_RESPONSE: "resp", Metric.RESOLUTION: "reso"}


def histogram_column(metric: int, bucket: int) -> str:
    return f"{HISTOGRAM_PREFIX[metric]}_{bucket:02d}"


def _summary_columns() -> dict:
    """Counts per status and dispute type, and per duration bucket (rules.DURATION_BUCKETS) for both
    metrics. Histogram columns are NULL when empty, so a day row with a few durations stays small."""
    columns = {f"st_{status}": models.IntegerField(default=0) for status in Status.values}
    columns.update({f"dt_{dispute}": models.IntegerField(default=0) for dispute in DisputeType.values})
    for metric in HISTOGRAM_PREFIX:
        columns.update({histogram_column(metric, j): models.IntegerField(null=True)  # type: ignore[misc]  # built in a loop
                        for j in range(len(rules.DURATION_BUCKETS))})
    return columns


# Counts + the columns above: everything the figures of a group of cases need, with nothing but sums, so
# the summaries of months and days compose into any period (and a partial month is the month minus the
# days outside the period).
if TYPE_CHECKING:  # a class made at run time: the checker sees its base
    Summary = Counts
else:
    Summary = type("Summary", (Counts,), {
        "__module__": __name__, "__doc__": "Mergeable figures of the cases of one platform opened in one span.",
        "Meta": type("Meta", (), {"abstract": True}), **_summary_columns()})


class DaySummary(Summary):
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "day", "organization_id"],
                                               name="stats_daysum_key")]

    def __str__(self):
        return f"{self.platform_id} {self.day}: {self.opened}"


class MonthSummary(Summary):
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    month = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "month", "organization_id"],
                                               name="stats_monthsum_key")]

    def __str__(self):
        return f"{self.platform_id} {self.month}: {self.opened}"


class TypeSummary(Summary):
    """The same mergeable figures per product type and / or dispute type, for filtered requests. Three
    groupings in one table: (product type, ""), ("", dispute type) and (product type, dispute type), so any
    filter reads one row per platform and day (month), like the unfiltered summaries."""

    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    product_type = models.CharField(max_length=20)  # "" = every product type
    dispute_type = models.CharField(max_length=30)  # "" = every dispute type

    class Meta:
        abstract = True


class DayTypeSummary(TypeSummary):
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "product_type", "dispute_type",
                                                       "organization_id", "day"], name="stats_daytypesum_key")]

    def __str__(self):
        return f"{self.platform_id} {self.day} {self.product_type}/{self.dispute_type}: {self.opened}"


class MonthTypeSummary(TypeSummary):
    month = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "product_type", "dispute_type",
                                                       "organization_id", "month"], name="stats_monthtypesum_key")]

    def __str__(self):
        return f"{self.platform_id} {self.month} {self.product_type}/{self.dispute_type}: {self.opened}"


class MonthTypeMerchant(models.Model):
    """Complaints per merchant and month by product type and / or dispute type (the groupings of TypeSummary)."""

    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    month = models.DateField()
    product_type = models.CharField(max_length=20)
    dispute_type = models.CharField(max_length=30)
    merchant_id = models.BigIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "product_type", "dispute_type",
                                                       "organization_id", "month", "merchant_id"], name="stats_mtypemerch_key")]

    def __str__(self):
        return f"{self.platform_id} {self.month} {self.merchant_id}: {self.n}"


class DailyStat(Counts):
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    day = models.DateField()
    product_type = models.CharField(max_length=20)
    dispute_type = models.CharField(max_length=30)
    status = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "day", "organization_id", "product_type", "dispute_type", "status"], name="stats_daily_key")]
        verbose_name = _("platform statistics (charts)")
        verbose_name_plural = _("platform statistics (charts)")

    def __str__(self):
        return f"{self.platform_id} {self.day} {self.status}: {self.opened}"


class DurationBucket(models.Model):
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    day = models.DateField()
    product_type = models.CharField(max_length=20)
    dispute_type = models.CharField(max_length=30)
    metric = models.SmallIntegerField(choices=Metric.choices)
    minutes = models.IntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "day", "organization_id", "product_type", "dispute_type", "metric", "minutes"], name="stats_bucket_key")]

    def __str__(self):
        return f"{self.platform_id} {self.day} m{self.metric} {self.minutes}: {self.n}"


class DirtyCase(models.Model):
    """Scratch list of the cases a refresh recomputes (filled and emptied inside one transaction)."""

    case_id = models.BigIntegerField(primary_key=True)

    def __str__(self):
        return str(self.case_id)


class RefreshState(models.Model):
    """One row: the watermark of the last refresh; its row lock serializes refreshes and rebuilds."""

    watermark = models.DateTimeField(null=True)
    last_rebuild_at = models.DateTimeField(null=True)
    last_refresh_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"watermark {self.watermark}"


class MassIncident(models.Model):
    """Complaints against one platform far above its own baseline (a sign of 跑路): one group of cases for
    collective action. Unique per platform and day, so the same spike is never reported twice."""

    platform = models.ForeignKey("cases.Platform", on_delete=models.PROTECT, related_name="mass_incidents",
                                 verbose_name=_("platform"))
    day = models.DateField(_("day"))
    detected_at = models.DateTimeField(_("detected at"), auto_now_add=True)
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    count = models.PositiveIntegerField(_("complaints in the window"))
    baseline_mean = models.FloatField(_("baseline mean per day"))
    baseline_stddev = models.FloatField(_("baseline standard deviation"))
    threshold = models.FloatField(_("threshold"))
    cases = models.ManyToManyField("cases.Case", related_name="mass_incidents", verbose_name=_("cases"))

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["platform", "day"], name="mass_incident_once_per_day")]
        verbose_name = _("mass incident")
        verbose_name_plural = _("mass incidents")

    def __str__(self):
        return f"{self.platform} {self.day} ({self.count})"


class MassIncidentNotice(models.Model):
    """The once-only guard of the supervisors' alert: one row per incident and organization."""

    incident = models.ForeignKey(MassIncident, on_delete=models.CASCADE, related_name="notices")
    organization = models.ForeignKey("cases.Organization", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "organization"], name="mass_notice_once")]

    def __str__(self):
        return f"{self.incident_id} → {self.organization_id}"


class MonthStat(Counts):
    """Monthly rollup without product/dispute type (requests without those filters read whole months
    here and only the partial months at the edges of the period from the daily tables)."""

    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    month = models.DateField()
    status = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "month", "organization_id", "status"], name="stats_month_key")]

    def __str__(self):
        return f"{self.platform_id} {self.month} {self.status}: {self.opened}"


class MonthDispute(models.Model):
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    month = models.DateField()
    dispute_type = models.CharField(max_length=30)
    opened = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "month", "organization_id", "dispute_type"], name="stats_mdisp_key")]

    def __str__(self):
        return f"{self.platform_id} {self.month} {self.dispute_type}: {self.opened}"


class MonthMerchant(models.Model):
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    month = models.DateField()
    merchant_id = models.BigIntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "month", "organization_id", "merchant_id"], name="stats_mmerch_key")]

    def __str__(self):
        return f"{self.platform_id} {self.month} {self.merchant_id}: {self.n}"


class MonthBucket(models.Model):
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    month = models.DateField()
    metric = models.SmallIntegerField(choices=Metric.choices)
    minutes = models.IntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform_id", "month", "organization_id", "metric", "minutes"], name="stats_mbucket_key")]

    def __str__(self):
        return f"{self.platform_id} {self.month} m{self.metric} {self.minutes}: {self.n}"


class DeltaFact(Fact):
    """Scratch: the old (sign −1) and new (sign +1) facts of the cases a refresh recomputes."""

    sign = models.SmallIntegerField()
    case_id = models.BigIntegerField()

    def __str__(self):
        return f"{self.sign:+d} case {self.case_id}"


class StatsPeriod(models.Model):
    """A standard period whose final figures are kept in the `Period*` tables: each calendar year and
    the last 365 days ending today (`rolling`), for one scope (organization: per organization;
    national: organization_id 0)."""

    first_day = models.DateField()
    last_day = models.DateField()
    rolling = models.BooleanField(default=False)
    scope = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["first_day", "last_day", "scope"], name="stats_period_once")]

    def __str__(self):
        return f"{self.first_day} – {self.last_day} ({self.scope})"


class PeriodStat(Counts):
    period_id = models.BigIntegerField()
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    status = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period_id", "organization_id", "platform_id", "status"],
                                               name="stats_pstat_key")]

    def __str__(self):
        return f"{self.period_id} {self.platform_id} {self.status}: {self.opened}"


class PeriodDispute(models.Model):
    period_id = models.BigIntegerField()
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    dispute_type = models.CharField(max_length=30)
    opened = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["period_id", "organization_id", "platform_id", "dispute_type"], name="stats_pdisp_key")]

    def __str__(self):
        return f"{self.period_id} {self.platform_id} {self.dispute_type}: {self.opened}"


class PeriodMerchant(models.Model):
    period_id = models.BigIntegerField()
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    merchant_id = models.BigIntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["period_id", "organization_id", "platform_id", "merchant_id"], name="stats_pmerch_key")]

    def __str__(self):
        return f"{self.period_id} {self.platform_id} {self.merchant_id}: {self.n}"


class PeriodDuration(models.Model):
    """Exact median and p90 (percentile_cont over whole minutes) of one metric over a standard period."""

    period_id = models.BigIntegerField()
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    metric = models.SmallIntegerField(choices=Metric.choices)
    n = models.IntegerField()
    median = models.FloatField()
    p90 = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["period_id", "organization_id", "platform_id", "metric"], name="stats_pdur_key")]

    def __str__(self):
        return f"{self.period_id} {self.platform_id} m{self.metric}: {self.median}/{self.p90}"


class DirtyDuration(models.Model):
    """Scratch: the (period, organization, platform, metric) percentiles a refresh recomputes."""

    period_id = models.BigIntegerField()
    organization_id = models.BigIntegerField()
    platform_id = models.BigIntegerField()
    metric = models.SmallIntegerField()

    def __str__(self):
        return f"{self.period_id} {self.platform_id} m{self.metric}"


def _report_path(instance, filename: str) -> str:
    return f"stats/reports/{instance.first_day:%Y}/{filename}"


class QuarterlyReport(models.Model):
    """A prepared complaint analysis (stats.quarterly_report, beat: the 1st of each quarter), kept for
    download: the XLSX workbook and the DOCX narrative of one period and scope. No personal data inside."""

    organization = models.ForeignKey("cases.Organization", on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="+", verbose_name=_("organization"),
                                     help_text=_("empty: national scope"))
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    lang = models.CharField(_("language"), max_length=5, default="zh")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    xlsx = models.FileField(_("workbook (XLSX)"), upload_to=_report_path)
    docx = models.FileField(_("narrative (DOCX)"), upload_to=_report_path)

    class Meta:
        ordering = ["-first_day", "organization_id"]
        verbose_name = _("quarterly report")
        verbose_name_plural = _("quarterly reports")
        constraints = [models.UniqueConstraint(fields=["organization", "first_day", "last_day", "lang"],
                                               name="stats_report_once")]

    def __str__(self):
        return f"{self.first_day} – {self.last_day}"
