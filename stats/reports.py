"""The quarterly complaint analysis (受理投诉情况分析): one XLSX workbook with native charts and the same as a
DOCX narrative, for any period, compared with the previous period of equal length.

Built on the selectors' output (`selectors.platform_summaries` for the period and the previous one) plus a
few reads of the case facts (overall medians, notable cases) and of the mass incidents. No personal data:
the facts carry none, notable cases are described by platform, merchant, types and amounts only, mass
incidents by counts and sums.
"""

import functools
import io
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from cases.codes import DisputeType, ProductType, Status
from cases.models import Case, Merchant, Platform

from . import exports, rules, selectors
from .models import CaseFact, MassIncident

if TYPE_CHECKING:
    from .models import QuarterlyReport

NOTABLE_CASES = 10
SENTENCES = 5  # platforms named in the narrative's "main changes"


def previous_period(first: date, last: date) -> tuple[date, date]:
    """The period just before, of equal length: the same number of calendar months when the period is whole
    months (a quarter is compared with the previous quarter, 环比), else the same number of days."""
    if first.day == 1 and (last + timedelta(days=1)).day == 1:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        index = first.year * 12 + first.month - 1 - months
        return date(index // 12, index % 12 + 1, 1), first - timedelta(days=1)
    days = (last - first).days + 1
    return first - timedelta(days=days), first - timedelta(days=1)


def last_quarter(today: date) -> tuple[date, date]:
    start_month = (today.month - 1) // 3 * 3 + 1
    this_quarter = date(today.year, start_month, 1)
    last = this_quarter - timedelta(days=1)
    return date(last.year, (last.month - 1) // 3 * 3 + 1, 1), last


def _change(now: int, before: int) -> float | None:
    return None if not before else round((now - before) / before, 4)


def _rate(numerator: int, denominator: int) -> dict:
    withheld = denominator < rules.min_sample()
    return {"value": None if withheld or not denominator else round(numerator / denominator, 4),
            "numerator": numerator, "denominator": denominator, "withheld_reason": "withheld" if withheld else None}


def _percentiles(filters: selectors.StatsFilter, column: str, **extra) -> dict:
    """Median and p90 over every platform's facts of the period (percentile_cont, as the selectors)."""
    facts = CaseFact.objects.filter(day__gte=filters.date_from, day__lte=filters.date_to,
                                    **{f"{column}__isnull": False}, **extra)
    if filters.organization_id is not None:
        facts = facts.filter(organization_id=filters.organization_id)
    histogram = dict(facts.values_list(column).annotate(n=Count("*")).values_list(column, "n"))  # index only
    values, count = selectors.percentiles_from_histogram(histogram)
    withheld = count < rules.min_sample()
    return {"median": None if withheld else values.get("median"), "p90": None if withheld else values.get("p90"),
            "count": count, "withheld_reason": "withheld" if withheld else None}


def _totals(figures: dict[int, dict]) -> dict:
    total: defaultdict[str, int] = defaultdict(int)
    by_status: defaultdict[str, int] = defaultdict(int)
    by_dispute: defaultdict[str, int] = defaultdict(int)
    levels: defaultdict[str, int] = defaultdict(int)
    amounts = {"amount_disputed": Decimal(0), "amount_recovered": Decimal(0)}
    for row in figures.values():
        total["complaints"] += row["complaints"]
        total["closed"] += row["closed"]
        for key in ("resolution_rate", "favourable_rate", "platform_response_rate",
                    "platform_response_in_window_rate"):
            total[f"{key}.n"] += row[key]["numerator"]
            total[f"{key}.d"] += row[key]["denominator"]
        for status, n in row["by_status"].items():
            by_status[status] += n
        for dispute, n in row["by_dispute_type"].items():
            by_dispute[dispute] += n
        for level, n in row["escalation_levels"].items():
            levels[level] += n
        for key in amounts:
            amounts[key] += Decimal(row[key])
    return {
        "complaints": total["complaints"], "closed": total["closed"],
        "by_status": {s: by_status[s] for s in Status.values},
        "by_dispute_type": {d: by_dispute[d] for d in DisputeType.values},
        "escalation_levels": {str(level): levels[str(level)] for level in (1, 2, 3, 4)},
        **{key: _rate(total[f"{key}.n"], total[f"{key}.d"]) for key in
           ("resolution_rate", "favourable_rate", "platform_response_rate", "platform_response_in_window_rate")},
        **amounts,
    }


def report_data(*, date_from: date, date_to: date, organization_id: int | None) -> dict:
    """Every figure of the report, as plain data (the JSON of `stats/report/`, and what the files show)."""
    filters = selectors.StatsFilter(date_from=date_from, date_to=date_to, organization_id=organization_id)
    prev_from, prev_to = previous_period(date_from, date_to)
    previous_filters = replace(filters, date_from=prev_from, date_to=prev_to)
    platforms = dict(Platform.objects.order_by("name", "id").values_list("id", "name"))
    ids = list(platforms)
    now = selectors.platform_summaries(platform_ids=ids, filters=filters)
    before = selectors.platform_summaries(platform_ids=ids, filters=previous_filters)
    products = exports.product_type_counts(ids, filters) if ids else {}
    total, total_before = _totals(now), _totals(before)
    total["by_product_type"] = {p: sum(products[pid][p] for pid in ids) for p in ProductType.values}
    total["platform_response_minutes"] = _percentiles(filters, "platform_response_minutes")
    total["resolution_minutes"] = _percentiles(filters, "resolution_minutes", status=Status.RESOLVED)

    ranking = []
    for pid in ids:
        row, prev = now[pid], before[pid]
        if not row["complaints"] and not prev["complaints"]:
            continue
        main = max(row["by_dispute_type"].items(), key=lambda kv: (kv[1], kv[0]), default=(None, 0))[0]
        ranking.append({
            "platform": {"id": pid, "name": platforms[pid]},
            **exports.complete(row, products[pid]),
            "previous_complaints": prev["complaints"],
            "change": _change(row["complaints"], prev["complaints"]),
            "main_dispute_type": main,
            "ranked": row["complaints"] >= rules.min_sample(),
        })
    ranking.sort(key=lambda r: (-r["complaints"], r["platform"]["name"]))
    rank = 0
    for row in ranking:
        row["rank"] = (rank := rank + 1) if row["ranked"] else None

    disputes = [{"dispute_type": d, "complaints": total["by_dispute_type"][d],
                 "previous_complaints": total_before["by_dispute_type"][d],
                 "change": _change(total["by_dispute_type"][d], total_before["by_dispute_type"][d])}
                for d in DisputeType.values]
    return {
        "period": {"from": date_from, "to": date_to},
        "previous_period": {"from": prev_from, "to": prev_to},
        "scope": "national" if organization_id is None else "organization",
        "min_sample": rules.min_sample(),
        "overview": {**total, "previous_complaints": total_before["complaints"],
                     "change": _change(total["complaints"], total_before["complaints"]),
                     "previous_resolution_rate": total_before["resolution_rate"]},
        "ranking": ranking,
        "dispute_types": disputes,
        "group_complaints": group_complaints(date_from, date_to, organization_id),
        "notable_cases": notable_cases(filters),
    }


def group_complaints(date_from: date, date_to: date, organization_id: int | None) -> list[dict]:
    """The mass incidents (spikes) of the period as 群体投诉: platform, window, the cases in scope, their
    total amount and the number of distinct consumers (victims). Counts and sums only."""
    incidents = MassIncident.objects.filter(day__gte=date_from, day__lte=date_to).select_related("platform")
    rows = []
    for incident in incidents.order_by("day", "id"):
        cases = Case.objects.filter(mass_incidents=incident)
        if organization_id is not None:
            cases = cases.filter(organization_id=organization_id)
        agg = cases.aggregate(n=Count("id"), victims=Count("consumer_id", distinct=True), amount=Sum("amount_paid"),
                              recovered=Sum("amount_recovered"))
        if not agg["n"]:
            continue
        rows.append({"id": incident.id, "platform": {"id": incident.platform_id, "name": incident.platform.name},
                     "day": incident.day, "window_start": incident.window_start, "window_end": incident.window_end,
                     "count": incident.count, "cases": agg["n"], "victims": agg["victims"],
                     "amount_disputed": f"{agg['amount'] or Decimal(0):.2f}",
                     "amount_recovered": f"{agg['recovered'] or Decimal(0):.2f}",
                     "baseline_mean": round(incident.baseline_mean, 2)})
    return rows


def notable_cases(filters: selectors.StatsFilter) -> list[dict]:
    """Typical cases without personal data: the largest amounts, and those that went furthest up the ladder.
    Described by platform, merchant (a business), product and dispute type, amounts, level, outcome."""
    facts = CaseFact.objects.filter(day__gte=filters.date_from, day__lte=filters.date_to)
    if filters.organization_id is not None:
        facts = facts.filter(organization_id=filters.organization_id)
    # the ids first (from the day index alone), then the few rows chosen
    ids = list(facts.order_by("-amount_paid", "case_id").values_list("case_id", flat=True)[:NOTABLE_CASES // 2])
    ids += list(facts.exclude(case_id__in=ids).filter(max_level__isnull=False)
                .order_by("-max_level", "-amount_paid", "case_id").values_list("case_id", flat=True)
                [:NOTABLE_CASES - len(ids)])
    rows = CaseFact.objects.in_bulk(ids)
    chosen = [rows[i] for i in ids]
    platforms: dict[int, str] = dict(Platform.objects.filter(id__in={f.platform_id for f in chosen}).values_list("id", "name"))
    merchants: dict[int | None, str] = dict(Merchant.objects.filter(id__in={f.merchant_id for f in chosen if f.merchant_id})
                     .values_list("id", "name"))
    return [{"day": f.day, "platform": platforms.get(f.platform_id, ""), "merchant": merchants.get(f.merchant_id, ""),
             "product_type": f.product_type, "dispute_type": f.dispute_type, "status": f.status,
             "outcome": f.outcome, "amount_disputed": f"{f.amount_paid:.2f}",
             "amount_recovered": f"{f.amount_recovered or Decimal(0):.2f}", "highest_level": f.max_level,
             "days_to_resolution": round(f.resolution_minutes / 1440, 1) if f.resolution_minutes is not None
             else None} for f in chosen]


# ---------------------------------------------------------------- words

def _label(enum, value) -> str:
    if not value:
        return ""
    text = str(enum(value).label)
    return text.split(" (", 1)[0] if translation.get_language() != "zh-hans" else text


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{abs(value) * 100:.0f}%"


def main_changes(data: dict) -> list[str]:
    """The report's sentences in the active language: the total, the platforms whose complaints grew most
    (with their main dispute type), the dispute types that grew most, the resolution rate."""
    overview = data["overview"]
    sentences = []
    change = overview["change"]
    if change is None:
        sentences.append(_("%(n)d complaints were received in the period (none in the previous period).")
                         % {"n": overview["complaints"]})
    else:
        key = ("%(n)d complaints were received in the period, %(pct)s more than in the previous period."
               if change >= 0 else
               "%(n)d complaints were received in the period, %(pct)s fewer than in the previous period.")
        sentences.append(_(key) % {"n": overview["complaints"], "pct": _pct(change)})
    growing = [r for r in data["ranking"] if r["change"] is not None and r["change"] > 0 and r["ranked"]]
    growing.sort(key=lambda r: (-(r["complaints"] - r["previous_complaints"]), r["platform"]["name"]))
    for row in growing[:SENTENCES]:
        sentences.append(_("Complaints about %(platform)s grew %(pct)s on the previous period (%(before)d → "
                           "%(now)d), mostly %(dispute)s.") % {
            "platform": row["platform"]["name"], "pct": _pct(row["change"]), "before": row["previous_complaints"],
            "now": row["complaints"], "dispute": _label(DisputeType, row["main_dispute_type"])})
    new = [r for r in data["ranking"] if r["previous_complaints"] == 0 and r["ranked"]]
    for row in new[:SENTENCES]:
        sentences.append(_("%(platform)s drew %(now)d complaints, none in the previous period, mostly %(dispute)s.")
                         % {"platform": row["platform"]["name"], "now": row["complaints"],
                            "dispute": _label(DisputeType, row["main_dispute_type"])})
    disputes = [d for d in data["dispute_types"] if d["change"] is not None and d["change"] > 0
                and d["complaints"] >= data["min_sample"]]
    disputes.sort(key=lambda d: -(d["complaints"] - d["previous_complaints"]))
    for d in disputes[:3]:
        sentences.append(_("Complaints of the type %(dispute)s grew %(pct)s (%(before)d → %(now)d).") % {
            "dispute": _label(DisputeType, d["dispute_type"]), "pct": _pct(d["change"]),
            "before": d["previous_complaints"], "now": d["complaints"]})
    rate = overview["resolution_rate"]
    if rate["value"] is not None:
        sentences.append(_("The resolution rate was %(pct)s (%(n)d of %(d)d closed complaints).") % {
            "pct": f"{rate['value'] * 100:.1f}%", "n": rate["numerator"], "d": rate["denominator"]})
    else:
        sentences.append(_("The resolution rate is withheld: only %(d)d complaints were closed.")
                         % {"d": rate["denominator"]})
    groups = data["group_complaints"]
    if groups:
        sentences.append(_("%(n)d group complaints (sudden waves against one platform) were detected, with "
                           "%(victims)d consumers and %(amount)s yuan at stake.") % {
            "n": len(groups), "victims": sum(g["victims"] for g in groups),
            "amount": f"{sum(Decimal(g['amount_disputed']) for g in groups):,.2f}"})
    return sentences


def _percent_cell(rate: dict):
    return exports.withheld_text(rate["denominator"]) if rate["value"] is None else rate["value"]


def _minutes_cell(figure: dict, key: str):
    return exports.withheld_text(figure["count"]) if figure[key] is None else figure[key]


# ---------------------------------------------------------------- XLSX

def report_xlsx(data: dict, lang: str) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    with translation.override(exports.LANGUAGES[lang]):
        _XlsxReport(book, data).write()
    book.close()
    return buffer.getvalue()


class _XlsxReport:
    def __init__(self, book, data):
        self.book, self.data, self.fmt = book, data, exports.formats(book)

    def sheet(self, name: str, title: str, headers: list[str]):
        sheet = self.book.add_worksheet(name)
        sheet.write_string(0, 0, title, self.fmt["title"])
        period, prev = self.data["period"], self.data["previous_period"]
        sheet.write_string(1, 0, _("Period: %(from)s to %(to)s; previous period: %(pfrom)s to %(pto)s.") % {
            "from": period["from"], "to": period["to"], "pfrom": prev["from"], "pto": prev["to"]}, self.fmt["note"])
        for c, text in enumerate(headers):
            sheet.write_string(3, c, text, self.fmt["header"])
            sheet.set_column(c, c, 16 if c else 26)
        sheet.set_row(3, 32)
        sheet.freeze_panes(4, 1)
        return sheet

    def put(self, sheet, r: int, c: int, value, kind: str = "int"):
        if value is None:
            sheet.write_blank(r, c, None)
        elif isinstance(value, str):
            withheld = kind in ("percent", "minutes")
            sheet.write_string(r, c, value, self.fmt["withheld"] if withheld else self.fmt["text"])
        else:
            sheet.write_number(r, c, float(value), self.fmt[kind])

    def chart(self, sheet, kind: str, title: str, series: list[tuple[str, int, int, int, int]], cell: str,
              x_title: str = "", y_title: str = "", subtype: str | None = None, percent: bool = False):
        """series: (name, sheet first row, last row, category column, value column)."""
        options = {"type": kind}
        if subtype:
            options["subtype"] = subtype
        chart = self.book.add_chart(options)
        for name, first, last, cat_col, val_col in series:
            chart.add_series({"name": name, "categories": [sheet.name, first, cat_col, last, cat_col],
                              "values": [sheet.name, first, val_col, last, val_col],
                              "data_labels": {"value": kind == "pie", "percentage": kind == "pie"}})
        chart.set_title({"name": title})
        if kind != "pie":
            chart.set_x_axis({"name": x_title})
            chart.set_y_axis({"name": y_title, **({"num_format": "0%"} if percent else {})})
        chart.set_size({"width": 720, "height": 400})
        sheet.insert_chart(cell, chart)

    def write(self):
        self.overview()
        self.ranking()
        self.disputes()
        self.rates()
        self.times()
        self.amounts()
        self.levels()
        self.groups()
        self.cases()

    def overview(self):
        data, o = self.data, self.data["overview"]
        sheet = self.sheet(_("Overview"), _("Complaint analysis: overview"), [_("Figure"), _("Value"),
                                                                            _("Previous period"), _("Change")])
        rows = [
            (_("Complaints"), o["complaints"], o["previous_complaints"], o["change"]),
            (_("Closed"), o["closed"], None, None),
            (_("Resolution rate"), _percent_cell(o["resolution_rate"]),
             _percent_cell(o["previous_resolution_rate"]), None),
            (_("Favourable outcome rate"), _percent_cell(o["favourable_rate"]), None, None),
            (_("Platform response rate"), _percent_cell(o["platform_response_rate"]), None, None),
            (_("Amount disputed (yuan)"), float(o["amount_disputed"]), None, None),
            (_("Amount recovered (yuan)"), float(o["amount_recovered"]), None, None),
            (_("Group complaints"), len(data["group_complaints"]), None, None),
        ]
        kinds = ["int", "int", "percent", "percent", "percent", "money", "money", "int"]
        for i, (label, value, before, change) in enumerate(rows):
            sheet.write_string(4 + i, 0, label)
            self.put(sheet, 4 + i, 1, value, kinds[i])
            self.put(sheet, 4 + i, 2, before, kinds[i])
            self.put(sheet, 4 + i, 3, change, "percent")
        r = 6 + len(rows)
        sheet.write_string(r, 0, _("Main changes"), self.fmt["title"])
        for i, sentence in enumerate(main_changes(data)):
            sheet.write_string(r + 1 + i, 0, sentence)
        r += 3 + len(main_changes(data))
        sheet.write_string(r, 0, _("Status"), self.fmt["header"])
        sheet.write_string(r, 1, _("Complaints"), self.fmt["header"])
        for i, status in enumerate(Status):
            sheet.write_string(r + 1 + i, 0, _label(Status, status.value))
            sheet.write_number(r + 1 + i, 1, o["by_status"][status.value])
        self.chart(sheet, "pie", _("Complaints by status"), [(_("Complaints"), r + 1, r + len(Status), 0, 1)], "F4")
        r += len(Status) + 2
        sheet.write_string(r, 0, _("Product type"), self.fmt["header"])
        sheet.write_string(r, 1, _("Complaints"), self.fmt["header"])
        for i, product in enumerate(ProductType):
            sheet.write_string(r + 1 + i, 0, _label(ProductType, product.value))
            sheet.write_number(r + 1 + i, 1, o["by_product_type"][product.value])
        self.chart(sheet, "bar", _("Complaints by product type"),
                   [(_("Complaints"), r + 1, r + len(ProductType), 0, 1)], "F26", _("Complaints"), "")

    def ranking(self):
        rows = self.data["ranking"]
        sheet = self.sheet(_("Platform ranking"), _("Platforms ranked by complaints (at least %(n)d to be ranked)")
                           % {"n": self.data["min_sample"]},
                           [_("Platform"), _("Rank"), _("Complaints"), _("Previous period"), _("Change"),
                            _("Main dispute type"), _("Resolution rate (%)"), _("Closed"),
                            _("Platform response rate (%)"), _("Escalated to the platform"),
                            _("Amount disputed (yuan)")])
        for i, row in enumerate(rows):
            r = 4 + i
            sheet.write_string(r, 0, row["platform"]["name"])
            self.put(sheet, r, 1, row["rank"] if row["rank"] else _("not ranked (n=%(n)d)") % {
                "n": row["complaints"]}, "int")
            self.put(sheet, r, 2, row["complaints"])
            self.put(sheet, r, 3, row["previous_complaints"])
            self.put(sheet, r, 4, row["change"], "percent")
            sheet.write_string(r, 5, _label(DisputeType, row["main_dispute_type"]))
            self.put(sheet, r, 6, _percent_cell(row["resolution_rate"]), "percent")
            self.put(sheet, r, 7, row["resolution_rate"]["denominator"])
            self.put(sheet, r, 8, _percent_cell(row["platform_response_rate"]), "percent")
            self.put(sheet, r, 9, row["platform_response_rate"]["denominator"])
            self.put(sheet, r, 10, float(row["amount_disputed"]), "money")
        ranked = sum(1 for r in rows if r["rank"])
        if ranked:
            last = 4 + min(ranked, 15) - 1
            self.chart(sheet, "column", _("Complaints per platform (ranked platforms)"),
                       [(_("This period"), 4, last, 0, 2), (_("Previous period"), 4, last, 0, 3)], "M4",
                       _("Platform"), _("Complaints"))

    def disputes(self):
        rows = self.data["dispute_types"]
        sheet = self.sheet(_("Dispute types"), _("Dispute types and their change on the previous period"),
                           [_("Dispute type"), _("Complaints"), _("Previous period"), _("Change")])
        for i, row in enumerate(rows):
            sheet.write_string(4 + i, 0, _label(DisputeType, row["dispute_type"]))
            self.put(sheet, 4 + i, 1, row["complaints"])
            self.put(sheet, 4 + i, 2, row["previous_complaints"])
            self.put(sheet, 4 + i, 3, row["change"], "percent")
        last = 4 + len(rows) - 1
        self.chart(sheet, "bar", _("Complaints per dispute type"),
                   [(_("This period"), 4, last, 0, 1), (_("Previous period"), 4, last, 0, 2)], "F4",
                   _("Complaints"), _("Dispute type"))

    def rates(self):
        rows = [r for r in self.data["ranking"] if r["complaints"]]
        sheet = self.sheet(_("Response and resolution"), _("Response and resolution rates per platform"),
                           [_("Platform"), _("Resolution rate (%)"), _("Resolved"), _("Closed"),
                            _("Platform response rate (%)"), _("Answered"), _("Escalated to the platform"),
                            _("Platform answered in time rate (%)"), _("Favourable outcome rate (%)")])
        o = self.data["overview"]
        sheet.write_string(4, 0, _("All platforms"), self.fmt["header"])
        for i, row in enumerate([o, *rows]):
            r = 4 + i
            if i:
                sheet.write_string(r, 0, row["platform"]["name"])
            self.put(sheet, r, 1, _percent_cell(row["resolution_rate"]), "percent")
            self.put(sheet, r, 2, row["resolution_rate"]["numerator"])
            self.put(sheet, r, 3, row["resolution_rate"]["denominator"])
            self.put(sheet, r, 4, _percent_cell(row["platform_response_rate"]), "percent")
            self.put(sheet, r, 5, row["platform_response_rate"]["numerator"])
            self.put(sheet, r, 6, row["platform_response_rate"]["denominator"])
            self.put(sheet, r, 7, _percent_cell(row["platform_response_in_window_rate"]), "percent")
            self.put(sheet, r, 8, _percent_cell(row["favourable_rate"]), "percent")
        sheet.write_string(5 + len(rows) + 1, 0, _("Rates below the minimum sample of %(n)d are withheld and shown as the sample size; "
                             "the chart leaves them out.") % {"n": self.data["min_sample"]}, self.fmt["note"])
        if rows:
            last = 4 + min(len(rows), 15)
            self.chart(sheet, "column", _("Resolution and platform response rates"),
                       [(_("Resolution rate"), 4, last, 0, 1), (_("Platform response rate"), 4, last, 0, 4)],
                       "K4", _("Platform"), _("Rate"), percent=True)

    def times(self):
        rows = [r for r in self.data["ranking"] if r["complaints"]]
        sheet = self.sheet(_("Median times"), _("Platform response time and time to resolution (minutes)"),
                           [_("Platform"), _("Platform response time median (minutes)"),
                            _("Platform response time P90 (minutes)"), _("Platform response time sample size"),
                            _("Time to resolution median (minutes)"), _("Time to resolution P90 (minutes)"),
                            _("Time to resolution sample size")])
        o = self.data["overview"]
        sheet.write_string(4, 0, _("All platforms"), self.fmt["header"])
        for i, row in enumerate([o, *rows]):
            r = 4 + i
            if i:
                sheet.write_string(r, 0, row["platform"]["name"])
            for c, (key, field) in enumerate([("platform_response_minutes", "median"),
                                              ("platform_response_minutes", "p90"),
                                              ("platform_response_minutes", "count"),
                                              ("resolution_minutes", "median"), ("resolution_minutes", "p90"),
                                              ("resolution_minutes", "count")], start=1):
                value = row[key]["count"] if field == "count" else _minutes_cell(row[key], field)
                self.put(sheet, r, c, value, "int" if field == "count" else "minutes")
        if rows:
            last = 4 + min(len(rows), 15)
            self.chart(sheet, "column", _("Median times (minutes)"),
                       [(_("Platform response time"), 4, last, 0, 1), (_("Time to resolution"), 4, last, 0, 4)],
                       "I4", _("Platform"), _("Minutes"))

    def amounts(self):
        rows = [r for r in self.data["ranking"] if r["complaints"]]
        sheet = self.sheet(_("Amounts"), _("Amounts disputed and recovered (yuan)"),
                           [_("Platform"), _("Amount disputed (yuan)"), _("Amount recovered (yuan)")])
        o = self.data["overview"]
        sheet.write_string(4, 0, _("All platforms"), self.fmt["header"])
        for i, row in enumerate([o, *rows]):
            if i:
                sheet.write_string(4 + i, 0, row["platform"]["name"])
            self.put(sheet, 4 + i, 1, float(row["amount_disputed"]), "money")
            self.put(sheet, 4 + i, 2, float(row["amount_recovered"]), "money")
        if rows:
            last = 5 + min(len(rows), 15) - 1
            self.chart(sheet, "column", _("Amounts disputed and recovered per platform"),
                       [(_("Amount disputed (yuan)"), 5, last, 0, 1), (_("Amount recovered (yuan)"), 5, last, 0, 2)],
                       "E4", _("Platform"), _("Yuan"))

    def levels(self):
        o = self.data["overview"]
        sheet = self.sheet(_("Escalation levels"), _("Complaints by the highest escalation level reached"),
                           [_("Level"), _("Complaints")])
        names = [_("Level 1 (negotiation)"), _("Level 2 (platform)"), _("Level 3 (third party)"),
                 _("Level 4 (legal)")]
        for i, name in enumerate(names):
            sheet.write_string(4 + i, 0, name)
            sheet.write_number(4 + i, 1, o["escalation_levels"][str(i + 1)])
        self.chart(sheet, "column", _("Highest escalation level reached"), [(_("Complaints"), 4, 7, 0, 1)], "D4",
                   _("Level"), _("Complaints"))

    def groups(self):
        rows = self.data["group_complaints"]
        sheet = self.sheet(_("Group complaints"), _("Spikes and group complaints (群体投诉)"),
                           [_("Platform"), _("Day"), _("Complaints in the 24-hour window"),
                            _("Baseline per day"), _("Cases"), _("Victims"), _("Amount disputed (yuan)"),
                            _("Amount recovered (yuan)")])
        for i, row in enumerate(rows):
            r = 4 + i
            sheet.write_string(r, 0, row["platform"]["name"])
            sheet.write_string(r, 1, str(row["day"]))
            self.put(sheet, r, 2, row["count"])
            self.put(sheet, r, 3, row["baseline_mean"], "decimal")
            self.put(sheet, r, 4, row["cases"])
            self.put(sheet, r, 5, row["victims"])
            self.put(sheet, r, 6, float(row["amount_disputed"]), "money")
            self.put(sheet, r, 7, float(row["amount_recovered"]), "money")
        if not rows:
            sheet.write_string(4, 0, _("No spike was detected in the period."), self.fmt["note"])

    def cases(self):
        rows = self.data["notable_cases"]
        sheet = self.sheet(_("Notable cases"), _("Notable cases (no personal data)"),
                           [_("Opened"), _("Platform"), _("Merchant"), _("Product type"), _("Dispute type"),
                            _("Status"), _("Amount disputed (yuan)"), _("Amount recovered (yuan)"),
                            _("Highest escalation level reached"), _("Days to resolution")])
        for i, row in enumerate(rows):
            r = 4 + i
            sheet.write_string(r, 0, str(row["day"]))
            sheet.write_string(r, 1, row["platform"])
            sheet.write_string(r, 2, row["merchant"])
            sheet.write_string(r, 3, _label(ProductType, row["product_type"]))
            sheet.write_string(r, 4, _label(DisputeType, row["dispute_type"]))
            sheet.write_string(r, 5, _label(Status, row["status"]))
            self.put(sheet, r, 6, float(row["amount_disputed"]), "money")
            self.put(sheet, r, 7, float(row["amount_recovered"]), "money")
            self.put(sheet, r, 8, row["highest_level"])
            self.put(sheet, r, 9, row["days_to_resolution"], "decimal")


# ---------------------------------------------------------------- DOCX

def report_docx(data: dict, lang: str) -> bytes:
    from docx import Document

    with translation.override(exports.LANGUAGES[lang]):
        document = Document()
        period, prev = data["period"], data["previous_period"]
        document.add_heading(_("Complaint analysis %(from)s to %(to)s") % {"from": period["from"], "to": period["to"]},
                             0)
        document.add_paragraph(_("Period: %(from)s to %(to)s; previous period: %(pfrom)s to %(pto)s.") % {
            "from": period["from"], "to": period["to"], "pfrom": prev["from"], "pto": prev["to"]})
        document.add_paragraph(_("Scope: %(scope)s.") % {"scope": _("national") if data["scope"] == "national"
                                                         else _("this organization")})
        document.add_heading(_("Main changes"), 1)
        for sentence in main_changes(data):
            document.add_paragraph(sentence, style="List Bullet")
        o = data["overview"]

        document.add_heading(_("Platform ranking"), 1)
        ranked = [r for r in data["ranking"] if r["rank"]]
        _table(document, [_("Rank"), _("Platform"), _("Complaints"), _("Change"), _("Main dispute type"),
                          _("Resolution rate (%)")],
               [[str(r["rank"]), r["platform"]["name"], str(r["complaints"]), _signed(r["change"]),
                 _label(DisputeType, r["main_dispute_type"]), _rate_text(r["resolution_rate"])] for r in ranked])
        small = [r for r in data["ranking"] if not r["rank"] and r["complaints"]]
        if small:
            document.add_paragraph(_("Not ranked (fewer than %(n)d complaints): %(names)s.") % {
                "n": data["min_sample"], "names": "、".join(f"{r['platform']['name']} ({r['complaints']})"
                                                            for r in small)})

        document.add_heading(_("Dispute types"), 1)
        _table(document, [_("Dispute type"), _("Complaints"), _("Previous period"), _("Change")],
               [[_label(DisputeType, d["dispute_type"]), str(d["complaints"]), str(d["previous_complaints"]),
                 _signed(d["change"])] for d in data["dispute_types"] if d["complaints"] or d["previous_complaints"]])

        document.add_heading(_("Response and resolution"), 1)
        rt, rs = o["platform_response_minutes"], o["resolution_minutes"]
        _table(document, [_("Figure"), _("Value")], [
            [_("Resolution rate"), _rate_text(o["resolution_rate"])],
            [_("Favourable outcome rate"), _rate_text(o["favourable_rate"])],
            [_("Platform response rate"), _rate_text(o["platform_response_rate"])],
            [_("Platform answered in time rate"), _rate_text(o["platform_response_in_window_rate"])],
            [_("Platform response time median (minutes)"), _minutes_text(rt)],
            [_("Time to resolution median (minutes)"), _minutes_text(rs)],
            [_("Amount disputed (yuan)"), f"{Decimal(o['amount_disputed']):,.2f}"],
            [_("Amount recovered (yuan)"), f"{Decimal(o['amount_recovered']):,.2f}"],
        ] + [[name, str(o["escalation_levels"][str(i + 1)])] for i, name in enumerate(
            [_("Level 1 (negotiation)"), _("Level 2 (platform)"), _("Level 3 (third party)"), _("Level 4 (legal)")])])

        document.add_heading(_("Group complaints"), 1)
        if data["group_complaints"]:
            _table(document, [_("Platform"), _("Day"), _("Cases"), _("Victims"), _("Amount disputed (yuan)")],
                   [[g["platform"]["name"], str(g["day"]), str(g["cases"]), str(g["victims"]),
                     f"{Decimal(g['amount_disputed']):,.2f}"] for g in data["group_complaints"]])
        else:
            document.add_paragraph(_("No spike was detected in the period."))

        document.add_heading(_("Notable cases (no personal data)"), 1)
        for case in data["notable_cases"]:
            document.add_paragraph(_("%(day)s, %(platform)s%(merchant)s: %(product)s, %(dispute)s, %(amount)s yuan "
                                     "disputed, %(recovered)s recovered, highest level %(level)s, %(status)s.") % {
                "day": case["day"], "platform": case["platform"],
                "merchant": f" / {case['merchant']}" if case["merchant"] else "",
                "product": _label(ProductType, case["product_type"]),
                "dispute": _label(DisputeType, case["dispute_type"]), "amount": case["amount_disputed"],
                "recovered": case["amount_recovered"], "level": case["highest_level"] or "—",
                "status": _label(Status, case["status"])}, style="List Bullet")
        buffer = io.BytesIO()
        document.save(buffer)
    return buffer.getvalue()


def _table(document, headers: list[str], rows: list[list[str]]) -> None:
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Light Grid Accent 1"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text


def _signed(change: float | None) -> str:
    return "—" if change is None else f"{change * 100:+.0f}%"


def _rate_text(rate: dict) -> str:
    if rate["value"] is None:
        return exports.withheld_text(rate["denominator"])
    return f"{rate['value'] * 100:.1f}% ({rate['numerator']}/{rate['denominator']})"


def _minutes_text(figure: dict) -> str:
    return exports.withheld_text(figure["count"]) if figure["median"] is None else f"{figure['median']:.0f}"



def report_prepare(*, date_from: date, date_to: date, organization_id: int | None, lang: str = "zh"):
    """Builds both files and keeps them (replacing an earlier report of the same period, scope, language)."""
    from django.core.files.base import ContentFile
    from django.db import transaction

    from .models import QuarterlyReport

    data = report_data(date_from=date_from, date_to=date_to, organization_id=organization_id)
    xlsx, docx = report_xlsx(data, lang), report_docx(data, lang)
    name = f"complaint-analysis-{organization_id or 'national'}-{date_from}-{date_to}-{lang}"
    with transaction.atomic():
        old = list(QuarterlyReport.objects.select_for_update().filter(  # type: ignore[misc]  # None filters IS NULL (the stubs refuse None)
            organization_id=organization_id, first_day=date_from, last_day=date_to, lang=lang))
        report = QuarterlyReport(organization_id=organization_id, first_day=date_from, last_day=date_to, lang=lang)
        report.xlsx.save(f"{name}.xlsx", ContentFile(xlsx), save=False)
        report.docx.save(f"{name}.docx", ContentFile(docx), save=False)
        for row in old:
            row.delete()
        report.save()
        for row in old:
            transaction.on_commit(functools.partial(_delete_files, row))
    return report


def _delete_files(report: "QuarterlyReport") -> None:
    report.xlsx.delete(save=False)
    report.docx.delete(save=False)


def quarterly_reports_prepare(today: date) -> list[int]:
    """The last quarter's report: one national report in national scope, else one per organization."""
    from cases.models import Organization

    first, last = last_quarter(today)
    scopes: list[int | None] = [None] if rules.scope() == "national" else list(Organization.objects.values_list("id", flat=True))
    return [report_prepare(date_from=first, date_to=last, organization_id=org).id for org in scopes]


def group_letter_docx(row: dict, cases) -> bytes:
    """The joint letter of a group complaint (群体投诉): facts and figures only; the statute a police report
    relies on is the reporting organization's judgement and is not cited here."""
    from docx import Document

    document = Document()
    group = row["group"]
    loss = Decimal(group["amount_disputed"]) - Decimal(group["amount_recovered"])
    document.add_heading(row["title"], 0)
    document.add_paragraph(_(
        "Between %(start)s and %(end)s, %(count)d complaints were filed against %(platform)s, against a usual "
        "%(baseline)s per day. This organization handles %(cases)d of them, filed by %(victims)d consumers, who "
        "paid %(amount)s yuan in total; %(recovered)s yuan has been recovered, %(loss)s yuan remains lost.") % {
        "start": _local(row["window_start"]), "end": _local(row["window_end"]),
        "count": row["count"], "platform": row["platform"]["name"], "baseline": f"{row['baseline_mean']:.1f}",
        "cases": group["cases"], "victims": group["victims"], "amount": f"{Decimal(group['amount_disputed']):,.2f}",
        "recovered": f"{Decimal(group['amount_recovered']):,.2f}", "loss": f"{loss:,.2f}"})
    document.add_paragraph(_("The consumers ask jointly that the platform refund the amounts below, and that the "
                             "authorities receiving this letter examine the platform's conduct."))
    _table(document, [_("Case"), _("Opened"), _("Product type"), _("Dispute type"), _("Amount paid (yuan)"),
                      _("Amount recovered (yuan)")],
           [[c.reference, timezone_day(c.created_at), _label(ProductType, c.product_type),
             _label(DisputeType, c.dispute_type), f"{c.amount_paid:,.2f}", f"{c.amount_recovered or 0:,.2f}"]
            for c in cases])
    document.add_paragraph(_("Total: %(cases)d cases, %(victims)d consumers, %(amount)s yuan paid, %(loss)s yuan "
                             "lost.") % {"cases": group["cases"], "victims": group["victims"],
                                         "amount": f"{Decimal(group['amount_disputed']):,.2f}",
                                         "loss": f"{loss:,.2f}"})
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _local(moment) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def timezone_day(moment) -> str:
    from django.utils import timezone

    return str(timezone.localtime(moment).date())
