"""Tables an analyst can open: the figures of `selectors.platform_summaries` / `platform_trend` as CSV and
XLSX with a fixed column layout (every status, dispute type and product type, in the order of the code's
enums), human headers in Chinese (or English), numbers as numbers, rates as percentages beside their
counts and withheld figures as text ("样本不足 (n=7)").

Built on the selectors' output only (the dicts they return): the layout never depends on which types
occurred in a period, so two periods' files line up column for column.
"""

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.codes import DisputeType, Outcome, ProductType, Status

from . import selectors
from .models import DailyStat

LANGUAGES = {"zh": "zh-hans", "en": "en"}
RATES = ("resolution_rate", "favourable_rate", "platform_response_rate", "platform_response_in_window_rate")
RATE_LABELS = {
    "resolution_rate": gettext_lazy("Resolution rate"),
    "favourable_rate": gettext_lazy("Favourable outcome rate"),
    "platform_response_rate": gettext_lazy("Platform response rate"),
    "platform_response_in_window_rate": gettext_lazy("Platform answered in time rate"),
}
DURATIONS = {
    "platform_response_minutes": gettext_lazy("Platform response time"),
    "resolution_minutes": gettext_lazy("Time to resolution"),
}
OUTCOME_LABELS = {
    Outcome.FAVOURABLE: gettext_lazy("Outcome: favourable"),
    Outcome.PARTIAL: gettext_lazy("Outcome: partial"),
    Outcome.UNFAVOURABLE: gettext_lazy("Outcome: unfavourable"),
}


@dataclass(frozen=True)
class Column:
    code: str  # the dotted key of the JSON figure (`?headers=codes`)
    header: object  # a lazy translation, rendered in the language asked for
    kind: str = "int"  # int | text | money | percent | minutes | decimal


def withheld_text(n: int) -> str:
    return _("insufficient sample (n=%(n)d)") % {"n": n}


def columns(leading: list[Column], *, merchants: bool) -> list[Column]:
    """The full, fixed layout: `leading` (platform or period) then every figure."""
    cols = [*leading, Column("complaints", gettext_lazy("Complaints"))]
    cols += [Column(f"by_status.{s.value}", _prefixed(gettext_lazy("Status"), s.label)) for s in Status]
    cols += [Column(f"by_dispute_type.{d.value}", _prefixed(gettext_lazy("Dispute type"), d.label))
             for d in DisputeType]
    cols += [Column(f"by_product_type.{p.value}", _prefixed(gettext_lazy("Product type"), p.label))
             for p in ProductType]
    cols.append(Column("closed", gettext_lazy("Closed")))
    cols += [Column(f"outcomes.{o.value}", OUTCOME_LABELS[o]) for o in Outcome]
    for rate in RATES:
        label = RATE_LABELS[rate]
        cols += [Column(f"{rate}.value", _suffixed(label, "(%)"), "percent"),
                 Column(f"{rate}.numerator", _suffixed(label, gettext_lazy("numerator"))),
                 Column(f"{rate}.denominator", _suffixed(label, gettext_lazy("denominator")))]
    for duration, label in DURATIONS.items():
        cols += [Column(f"{duration}.median", _suffixed(label, gettext_lazy("median (minutes)")), "minutes"),
                 Column(f"{duration}.p90", _suffixed(label, gettext_lazy("P90 (minutes)")), "minutes"),
                 Column(f"{duration}.count", _suffixed(label, gettext_lazy("sample size")))]
    cols += [Column("amount_disputed", gettext_lazy("Amount disputed (yuan)"), "money"),
             Column("amount_recovered", gettext_lazy("Amount recovered (yuan)"), "money")]
    cols += [Column(f"escalation_levels.{level}", _LEVEL_LABELS[level]) for level in ("1", "2", "3", "4")]
    cols += [Column("highest_escalation_level", gettext_lazy("Highest escalation level reached")),
             Column("consumer_rating.average", gettext_lazy("Consumer rating (average, 1-5)"), "decimal"),
             Column("consumer_rating.count", gettext_lazy("Consumer ratings"))]
    if merchants:
        cols.append(Column("top_merchants", gettext_lazy("Most complained-about merchants"), "text"))
    return cols


_LEVEL_LABELS = {
    "1": gettext_lazy("Cases reaching level 1 (negotiation)"),
    "2": gettext_lazy("Cases reaching level 2 (platform)"),
    "3": gettext_lazy("Cases reaching level 3 (third party)"),
    "4": gettext_lazy("Cases reaching level 4 (legal)"),
}


class _Joined:
    """A header made of translated parts, rendered lazily in the active language."""

    def __init__(self, *parts, sep=""):
        self.parts, self.sep = parts, sep

    def __str__(self):
        return self.sep.join(str(p) for p in self.parts)


def _prefixed(prefix, label):
    return _Joined(prefix, _Separator(), _short(label))


def _suffixed(label, suffix):
    return _Joined(label, " ", suffix)


class _Separator:
    def __str__(self):
        return "：" if translation.get_language() == "zh-hans" else ": "


class _short:
    """A type label without the Chinese aside the English label carries ("Fraud (收款后失联)" → "Fraud")."""

    def __init__(self, label):
        self.label = label

    def __str__(self):
        text = str(self.label)
        if translation.get_language() != "zh-hans" and " (" in text:
            return text.split(" (", 1)[0]
        return text


PLATFORM_COLUMNS = [Column("platform.id", gettext_lazy("Platform ID")),
                    Column("platform.name", gettext_lazy("Platform"), "text")]
PERIOD_COLUMNS = [Column("start", gettext_lazy("Period start"), "text"),
                  Column("end", gettext_lazy("Period end"), "text")]


def product_type_counts(platform_ids: list[int], filters: selectors.StatsFilter) -> dict[int, dict[str, int]]:
    """Complaints per product type of each platform over the period: one grouped read of the daily summary
    (the rows the selectors read for a product type filter, summed once for every type instead of once per
    type). Tested equal to the JSON of `stats/platforms/?product_type=…`."""
    counts = {pid: dict.fromkeys(ProductType.values, 0) for pid in platform_ids}
    if not platform_ids:
        return counts
    rows = DailyStat.objects.filter(platform_id__in=platform_ids, day__gte=filters.date_from,
                                    day__lte=filters.date_to)
    for column in ("organization_id", "product_type", "dispute_type"):
        if getattr(filters, column) is not None:
            rows = rows.filter(**{column: getattr(filters, column)})
    for pid, product, n in rows.values("platform_id", "product_type").annotate(n=Sum("opened")).values_list(
            "platform_id", "product_type", "n").order_by():
        if product in counts[pid]:
            counts[pid][product] = int(n or 0)
    return counts


def complete(row: dict, product_counts: dict[str, int] | None) -> dict:
    """The selector's row with every dispute type (zeros included) and the product type counts."""
    row = dict(row)
    row["by_dispute_type"] = {d: int(row.get("by_dispute_type", {}).get(d, 0)) for d in DisputeType.values}
    if product_counts is not None:
        row["by_product_type"] = {p: int(product_counts.get(p, 0)) for p in ProductType.values}
    return row


@lru_cache(maxsize=4096)
def _path(code: str) -> tuple[str, ...]:
    """A column's dotted key, split once (a CSV of every platform looks up ~35,000 cells)."""
    return tuple(code.split("."))


def _lookup(row: dict, code: str) -> Any:
    value: Any = row
    for part in _path(code):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@lru_cache(maxsize=4096)
def _group(code: str) -> str:
    return code.rpartition(".")[0]


def _withheld_count(row: dict, code: str) -> int | None:
    """For a rate's value or a duration's median/p90: the sample size when it is withheld, else None."""
    group = _group(code)
    figure = _lookup(row, group) if group else None
    if isinstance(figure, dict) and figure.get("withheld_reason"):
        return figure.get("denominator", figure.get("count", 0))
    return None


def cell(row: dict, column: Column):
    """The value of one cell as an analyst reads it: a number, a text, or the withheld text."""
    if column.kind in ("percent", "minutes", "decimal"):
        withheld = _withheld_count(row, column.code)
        if withheld is not None:
            return withheld_text(withheld)
    value = _lookup(row, column.code)
    if value is None:
        return None
    if column.code == "top_merchants":
        return "; ".join(f"{m['name']} ({m['complaints']})" for m in value)
    if column.kind == "money":
        return Decimal(value)
    if column.kind == "text":
        return str(value)
    return value


def header(column: Column, headers: str) -> str:
    return column.code if headers == "codes" else str(column.header)


def csv_bytes(rows: list[dict], cols: list[Column], *, headers: str, lang: str) -> bytes:
    """UTF-8 with a BOM and CRLF line ends: LibreOffice's and Excel's default import read it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    with translation.override(LANGUAGES[lang]):
        writer.writerow([header(c, headers) for c in cols])
        for row in rows:
            writer.writerow([_csv_value(row, c, headers) for c in cols])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(row: dict, column: Column, headers: str):
    if headers == "codes":
        value = _lookup(row, column.code)
        if column.code == "top_merchants" and value is not None:
            return "; ".join(f"{m['name']} ({m['complaints']})" for m in value)
        return "" if value is None else value
    value = cell(row, column)
    if value is None:
        return ""
    if column.kind == "percent" and not isinstance(value, str):
        return f"{value * 100:.2f}"
    if column.kind == "money":
        return f"{value:.2f}"
    return value


def codes_columns(cols: list[Column]) -> list[Column]:
    """`?headers=codes`: the JSON's dotted keys, the rates as fractions with their withheld reasons, as before."""
    out = []
    for column in cols:
        out.append(column)
        if column.code.endswith((".denominator",)) or column.code.endswith(".count") and \
                column.code.split(".")[0] in DURATIONS or column.code == "consumer_rating.count":
            out.append(Column(column.code.rsplit(".", 1)[0] + ".withheld_reason", "", "text"))
    return out


def xlsx_bytes(rows: list[dict], cols: list[Column], *, headers: str, lang: str, title: str,
               notes: list[str]) -> bytes:
    """One sheet: a title line and notes, then the header row (frozen, filterable) and the rows."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    with translation.override(LANGUAGES[lang]):
        sheet = book.add_worksheet(_("Platforms") if cols[0].code.startswith("platform") else _("Periods"))
        write_table(book, sheet, rows, cols, headers=headers, title=title, notes=notes)
    book.close()
    return buffer.getvalue()


def formats(book) -> dict:
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "note": book.add_format({"italic": True, "font_color": "#555555"}),
        "header": book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7",
                                   "border": 1}),
        "int": book.add_format({"num_format": "0"}),
        "money": book.add_format({"num_format": "#,##0.00"}),
        "percent": book.add_format({"num_format": "0.0%"}),
        "minutes": book.add_format({"num_format": "0.0"}),
        "decimal": book.add_format({"num_format": "0.00"}),
        "text": book.add_format({}),
        "withheld": book.add_format({"font_color": "#9C5700", "bg_color": "#FFEB9C"}),
    }


def write_table(book, sheet, rows, cols, *, headers: str, title: str, notes: list[str], first_row: int = 0) -> int:
    """Writes title, notes and the table; returns the index of the header row."""
    fmt = formats(book)
    r = first_row
    if title:
        sheet.write_string(r, 0, title, fmt["title"])
        r += 1
    for note in notes:
        sheet.write_string(r, 0, note, fmt["note"])
        r += 1
    if title or notes:
        r += 1
    head = r
    for c, column in enumerate(cols):
        sheet.write_string(head, c, header(column, headers), fmt["header"])
        sheet.set_column(c, c, 28 if column.kind == "text" else 14)
    for i, row in enumerate(rows, start=1):
        for c, column in enumerate(cols):
            value = cell(row, column)
            if value is None:
                sheet.write_blank(head + i, c, None)
            elif isinstance(value, str):
                is_withheld = column.kind in ("percent", "minutes", "decimal")
                sheet.write_string(head + i, c, value, fmt["withheld"] if is_withheld else fmt["text"])
            else:
                sheet.write_number(head + i, c, float(value), fmt[column.kind])
    sheet.set_row(head, 45)
    sheet.freeze_panes(head + 1, len([c for c in cols if c.code in ("platform.name", "start", "end")]) + 1)
    sheet.autofilter(head, 0, head + max(len(rows), 1), len(cols) - 1)
    return head
