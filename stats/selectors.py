# ruff: noqa: S608 - the SQL is built from constants; values always go through placeholders
"""Reading the summary tables: per-platform figures over any period, and a platform's trend.

A request reads only the summary rows of the platforms on the page (or the one platform of a trend)
and the period asked for, through the (platform_id, day) indexes: its cost follows the page size and
the period, not the number of cases.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cases.codes import CLOSED_STATUSES, Outcome, Status
from cases.models import Merchant
from kameng_api.core.replica import read_connection

from . import dialect, ranges, rules
from .models import Metric
from .schema import T

SUM_COLUMNS = (
    "opened", "favourable", "partial", "unfavourable", "platform_escalated", "platform_responded",
    "platform_in_window", "amount_paid", "amount_recovered", "rating_sum", "rating_count",
    "level_1", "level_2", "level_3", "level_4",
)
TOP_MERCHANTS = 5
STATUSES, OUTCOMES = tuple(Status.values), tuple(Outcome.values)


platform_in = dialect.id_in  # `column` among the ids (platforms, merchants)


@dataclass(frozen=True)
class StatsFilter:
    date_from: date
    date_to: date
    product_type: str | None = None
    dispute_type: str | None = None
    organization_id: int | None = None  # None: every organization (national scope)


_param = dialect.param


def _where(filters: StatsFilter, platform_ids: list[int], alias: str, days: list[tuple[date, date]] | None = None,
           months: tuple[date, date] | None = None) -> tuple[str, list]:
    """Conditions on platform, period and filters. `days`: [(first, last)] day ranges (default the whole
    period); `months`: (first month, month after the last) for the monthly tables instead."""
    condition, ids = platform_in(f"{alias}.platform_id", platform_ids)
    sql, params = [condition], [*ids]
    if months is not None:
        sql.append(f"{alias}.month >= %s AND {alias}.month < %s")
        params += [_param(months[0]), _param(months[1])]
    else:
        ranges = days if days is not None else [(filters.date_from, filters.date_to)]
        sql.append("(" + " OR ".join(f"{alias}.day BETWEEN %s AND %s" for _r in ranges) + ")")
        params += [_param(d) for r in ranges for d in r]
    columns = ("organization_id",) if months is not None else ("product_type", "dispute_type", "organization_id")
    for column in columns:
        value = getattr(filters, column)
        if value is not None:
            sql.append(f"{alias}.{column} = %s")
            params.append(value)
    return " AND ".join(sql), params


def _segments(filters: StatsFilter) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Split the period into whole months (read from the monthly rollups) and the days at its edges.
    With a product or dispute type filter everything comes from the daily tables."""
    if filters.product_type or filters.dispute_type:
        return None, [(filters.date_from, filters.date_to)]
    first = filters.date_from if filters.date_from.day == 1 else _next_period(filters.date_from, "month")
    after = filters.date_to + timedelta(days=1)
    end = after if after.day == 1 else after.replace(day=1)
    if first >= end:
        return None, [(filters.date_from, filters.date_to)]
    days = []
    if filters.date_from < first:
        days.append((filters.date_from, first - timedelta(days=1)))
    if end <= filters.date_to:
        days.append((end, filters.date_to))
    return (first, end), days


def _context() -> tuple[str | None, int]:
    """(language, minimum sample): read once per request, not once per figure — both go through
    thread-local and settings lookups, which the CSV of every platform would do thousands of times."""
    return get_language(), rules.min_sample()


def _rate(numerator: int, denominator: int, context: tuple | None = None) -> dict:
    language, minimum = context or _context()
    withheld = denominator < minimum
    return {
        "value": None if withheld or not denominator else round(numerator / denominator, 4),
        "numerator": numerator,
        "denominator": denominator,
        "withheld_reason": _reason(language, denominator, minimum) if withheld else None,
    }


@lru_cache(maxsize=4096)
def _reason(language: str | None, n: int, minimum: int) -> str:
    """The translated text, once per language and count: a CSV of every platform withholds thousands of
    figures, and a translation lookup per figure was a third of its time."""
    return _("Withheld: %(n)d cases, fewer than the minimum sample of %(min)d.") % {"n": n, "min": minimum}


def _duration(values: dict | None, count: int, context: tuple | None = None) -> dict:
    language, minimum = context or _context()
    withheld = count < minimum
    values = values or {}
    return {
        "median": None if withheld else values.get("median"),
        "p90": None if withheld else values.get("p90"),
        "count": count,
        "withheld_reason": _reason(language, count, minimum) if withheld else None,
    }


def _empty_sums() -> dict:
    return {"sums": defaultdict(int), "by_status": defaultdict(int), "by_dispute_type": defaultdict(int)}


def _figures(acc: dict, durations: dict, context: tuple | None = None) -> dict:
    """The figures of one group (a platform, or one period of a trend) from its summed rows. `context`:
    `_context()` of the request, when the caller computes many groups."""
    sums, by_status = acc["sums"], acc["by_status"]
    closed = sum(by_status.get(s, 0) for s in CLOSED_STATUSES)
    levels = {str(level): int(sums.get(f"level_{level}", 0)) for level in (1, 2, 3, 4)}
    reached = [int(k) for k, v in levels.items() if v]
    rating_count = int(sums.get("rating_count", 0))
    context = context or _context()
    language, minimum = context
    rating_withheld = rating_count < minimum
    response = durations.get(Metric.PLATFORM_RESPONSE, {})
    resolution = durations.get(Metric.RESOLUTION, {})
    return {
        "complaints": int(sums.get("opened", 0)),
        "by_status": {s: int(by_status.get(s, 0)) for s in STATUSES},
        "by_dispute_type": {k: int(v) for k, v in sorted(acc["by_dispute_type"].items()) if v},
        "closed": closed,
        "outcomes": {o: int(sums.get(o, 0)) for o in OUTCOMES},
        "resolution_rate": _rate(int(by_status.get(Status.RESOLVED, 0)), closed, context),
        "favourable_rate": _rate(int(sums.get("favourable", 0)), closed, context),
        "platform_response_rate": _rate(int(sums.get("platform_responded", 0)),
                                        int(sums.get("platform_escalated", 0)), context),
        "platform_response_in_window_rate": _rate(int(sums.get("platform_in_window", 0)),
                                                  int(sums.get("platform_escalated", 0)), context),
        "platform_response_minutes": _duration(response.get("values"), response.get("count", 0), context),
        "resolution_minutes": _duration(resolution.get("values"), resolution.get("count", 0), context),
        "amount_disputed": f"{Decimal(sums.get('amount_paid', 0)):.2f}",
        "amount_recovered": f"{Decimal(sums.get('amount_recovered', 0)):.2f}",
        "escalation_levels": levels,
        "highest_escalation_level": max(reached) if reached else None,
        "consumer_rating": {
            "average": None if rating_withheld else round(int(sums.get("rating_sum", 0)) / rating_count, 2),
            "count": rating_count,
            "withheld_reason": _reason(language, rating_count, minimum) if rating_withheld else None,
        },
    }


def _add(acc: dict, row: dict) -> None:
    """Add one row of `_SELECT_SUMS` (grouped by dispute type, statuses pivoted into columns)."""
    sums = acc["sums"]
    for column in SUM_COLUMNS:
        sums[column] += row[column] or 0
    for status in STATUSES:
        acc["by_status"][status] += row[f"st_{status}"] or 0
    if row["dispute_type"] is not None:
        acc["by_dispute_type"][row["dispute_type"]] += row["opened"] or 0


_SELECT_SUMS = ", ".join(
    [f"SUM(s.{c}) AS {c}" for c in SUM_COLUMNS]
    + [f"SUM(CASE WHEN s.status = '{st}' THEN s.opened ELSE 0 END) AS st_{st}" for st in Status.values]
)


def _fetch(sql: str, params: list) -> list[dict]:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _fetch_rows(sql: str, params: list) -> list[tuple]:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _interpolate(pairs: list[tuple[int, int, int]], total: int) -> dict:
    """pairs: (minutes, rows before, rows up to and including) in ascending minutes. percentile_cont."""

    def at(rank: int) -> int:
        for minutes, before, upto in pairs:
            if before <= rank < upto:
                return minutes
        raise ValueError(rank)

    values = {}
    for name, (num, den) in rules.PERCENTILES.items():
        low, rest = divmod((total - 1) * num, den)
        value = at(low) if not rest else at(low) + (at(low + 1) - at(low)) * rest / den
        values[name] = round(float(value), 2)
    return values


def percentiles_from_histogram(histogram: dict[int, int]) -> tuple[dict, int]:
    """Exact percentiles from {minutes: count} (used for trends, where one platform's rows are few)."""
    total, pairs = 0, []
    for minutes in sorted(histogram):
        pairs.append((minutes, total, total + histogram[minutes]))
        total += histogram[minutes]
    return (_interpolate(pairs, total) if total else {}), total


def _percentiles_sql(filters: StatsFilter, platform_ids: list[int]) -> dict:
    """Exact percentiles per (platform, metric) by a cumulative-count walk done in SQL: only the
    bucket rows holding the needed ranks come back."""
    months, days = _segments(filters)
    parts, params = [], []
    if days:
        where, p = _where(filters, platform_ids, "b", days=days)
        parts.append(f"SELECT b.platform_id, b.metric, b.minutes, b.n FROM {T.durationbucket} b WHERE {where}")
        params += p
    if months:
        where, p = _where(filters, platform_ids, "b", months=months)
        parts.append(f"SELECT b.platform_id, b.metric, b.minutes, b.n FROM {T.monthbucket} b WHERE {where}")
        params += p
    source = " UNION ALL ".join(parts)
    wanted = " OR ".join(
        f"(cum - n <= (total - 1) * {num} / {den} + 1 AND cum > (total - 1) * {num} / {den})"
        for num, den in rules.PERCENTILES.values()
    )
    sql = f"""
WITH h AS (
    SELECT b.platform_id AS g, b.metric, b.minutes, SUM(b.n) AS n
    FROM ({source}) b
    GROUP BY b.platform_id, b.metric, b.minutes
), c AS (
    SELECT g, metric, minutes, CAST(n AS BIGINT) AS n,
        CAST(SUM(n) OVER (PARTITION BY g, metric ORDER BY minutes ROWS UNBOUNDED PRECEDING) AS BIGINT) AS cum,
        CAST(SUM(n) OVER (PARTITION BY g, metric) AS BIGINT) AS total
    FROM h
)
SELECT g, metric, minutes, cum - n AS before, cum, total FROM c WHERE {wanted} ORDER BY g, metric, minutes
"""
    grouped = defaultdict(list)
    totals = {}
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        for g, metric, minutes, before, cum, total in cursor.fetchall():
            grouped[(g, metric)].append((minutes, int(before), int(cum)))
            totals[(g, metric)] = int(total)
    result: defaultdict[int, dict] = defaultdict(dict)
    for (g, metric), pairs in grouped.items():
        result[g][metric] = {"values": _interpolate(pairs, totals[(g, metric)]), "count": totals[(g, metric)]}
    return result


def _top_merchants(filters: StatsFilter, platform_ids: list[int]) -> dict[int, list[dict]]:
    months, days = _segments(filters)
    parts, params = [], []
    if days:
        where, p = _where(filters, platform_ids, "f", days=days)
        parts.append(f"SELECT f.platform_id, f.merchant_id, COUNT(*) AS n FROM {T.casefact} f "
                     f"WHERE {where} AND f.merchant_id IS NOT NULL GROUP BY f.platform_id, f.merchant_id")
        params += p
    if months:
        where, p = _where(filters, platform_ids, "f", months=months)
        parts.append(f"SELECT f.platform_id, f.merchant_id, SUM(f.n) AS n FROM {T.monthmerchant} f "
                     f"WHERE {where} GROUP BY f.platform_id, f.merchant_id")
        params += p
    rows = _fetch_rows(f"SELECT platform_id, merchant_id, SUM(n) AS n FROM ({' UNION ALL '.join(parts)}) u "
                       "GROUP BY platform_id, merchant_id", params)
    return _merchant_rows(rows)


def _merchant_rows(rows: list[tuple], names: dict | None = None) -> dict[int, list[dict]]:
    """The top merchants per platform from (platform, merchant, complaints) rows: most complaints first,
    ties by merchant id. `names`: {merchant: name} when the rows came with them, else looked up."""
    best = defaultdict(list)
    for platform_id, merchant_id, n in rows:
        best[platform_id].append((-int(n), merchant_id))
    chosen = {pid: sorted(items)[:TOP_MERCHANTS] for pid, items in best.items()}
    wanted = sorted({m for items in chosen.values() for _n, m in items})
    if names is None and wanted:
        condition, params = platform_in("id", wanted)
        names = dict(_fetch_rows(f"SELECT id, name FROM {Merchant._meta.db_table} WHERE {condition}", params))
    names = names or {}
    return {pid: [{"id": m, "name": names.get(m, ""), "complaints": -n} for n, m in items]
            for pid, items in chosen.items()}


def _standard_period(filters: StatsFilter) -> int | None:
    """The id of the precomputed period (a calendar year, or the last 365 days ending today) that is
    exactly the period asked for, when there is one and no product or dispute type filter."""
    if filters.product_type or filters.dispute_type:
        return None
    rows = _fetch_rows(f"SELECT id FROM {T.statsperiod} WHERE first_day = %s AND last_day = %s AND scope = %s",
                       [_param(filters.date_from), _param(filters.date_to), rules.scope()])
    return rows[0][0] if rows else None


def _period_summaries(period_id: int, platform_ids: list[int], filters: StatsFilter) -> dict[int, dict]:
    """Figures of a standard period: a few indexed rows per platform, already final."""
    condition, ids = platform_in("s.platform_id", platform_ids)
    where = f"s.period_id = %s AND s.organization_id = %s AND {condition}"
    params = [period_id, filters.organization_id or 0, *ids]
    acc = {pid: _empty_sums() for pid in platform_ids}
    for row in _fetch(f"SELECT s.platform_id, NULL AS dispute_type, {_SELECT_SUMS} FROM {T.periodstat} s "
                      f"WHERE {where} GROUP BY s.platform_id", params):
        _add(acc[row["platform_id"]], row)
    # Dispute types, percentiles and merchants (with their names) in one round trip.
    durations: defaultdict[int, dict] = defaultdict(dict)
    counts: list[tuple] = []
    names: dict = {}
    for kind, pid, label, key, n, median, p90 in _fetch_rows(
            f"SELECT 1, s.platform_id, s.dispute_type, NULL, s.opened, NULL, NULL FROM {T.perioddispute} s "
            f"WHERE {where} UNION ALL "
            f"SELECT 2, s.platform_id, NULL, s.metric, s.n, s.median, s.p90 FROM {T.periodduration} s "
            f"WHERE {where} UNION ALL "
            f"SELECT 3, s.platform_id, m.name, s.merchant_id, s.n, NULL, NULL FROM {T.periodmerchant} s "
            f"LEFT JOIN {Merchant._meta.db_table} m ON m.id = s.merchant_id WHERE {where}", params * 3):
        if kind == 1:
            acc[pid]["by_dispute_type"][label] += n
        elif kind == 2:
            durations[pid][key] = {"values": {"median": round(float(median), 2), "p90": round(float(p90), 2)},
                                   "count": int(n)}
        else:
            counts.append((pid, key, n))
            names[key] = label or ""
    merchants = _merchant_rows(counts, names)
    result, context = {}, _context()
    for pid in platform_ids:
        figures = _figures(acc[pid], durations.get(pid, {}), context)
        figures["top_merchants"] = merchants.get(pid, [])
        result[pid] = figures
    return result


def platform_summaries(*, platform_ids: list[int], filters: StatsFilter) -> dict[int, dict]:
    """The figures of each platform over the period (platforms without complaints get zeros)."""
    if not platform_ids:
        return {}
    period_id = _standard_period(filters)
    if period_id is not None:
        return _period_summaries(period_id, platform_ids, filters)
    with ranges.snapshot():
        composed = _composed_summaries(platform_ids, filters)
    if composed is not None:
        return composed
    return _daily_summaries(platform_ids, filters)


def _composed_summaries(platform_ids: list[int], filters: StatsFilter) -> dict[int, dict] | None:
    """Any period, with or without a product or dispute type filter: months and edge days of the mergeable
    summaries (stats/ranges.py; the filtered ones with a filter), exact percentiles. None when the facts
    disagree with the summaries (only possible when reading inside an outer transaction while a refresh
    commits)."""
    org, first, last = filters.organization_id, filters.date_from, filters.date_to
    types = ((filters.product_type or None, filters.dispute_type or None)
             if filters.product_type or filters.dispute_type else None)
    sums = ranges.summed(platform_ids, org, first, last, types)
    try:
        durations = ranges.exact_percentiles(sums, org, first, last, types)
    except LookupError:
        return None
    counts = ranges.merchant_counts(platform_ids, org, first, last, types)
    merchants = _merchant_rows([row[:3] for row in counts], {row[1]: row[3] or "" for row in counts})
    result, context = {}, _context()
    for pid in platform_ids:
        figures = _figures(sums[pid], durations.get(pid, {}), context)
        figures["top_merchants"] = merchants.get(pid, [])
        result[pid] = figures
    return result


def _daily_summaries(platform_ids: list[int], filters: StatsFilter) -> dict[int, dict]:
    """The daily tables over the period (whole months from the monthly rollups when no type filter is set):
    only when the facts disagree with the summaries inside an outer transaction, and as a cross-check in
    the tests."""
    months, days = _segments(filters)
    acc = {pid: _empty_sums() for pid in platform_ids}
    if days:
        where, params = _where(filters, platform_ids, "s", days=days)
        for row in _fetch(f"SELECT s.platform_id, s.dispute_type, {_SELECT_SUMS} FROM {T.dailystat} s "
                          f"WHERE {where} GROUP BY s.platform_id, s.dispute_type", params):
            _add(acc[row["platform_id"]], row)
    if months:
        where, params = _where(filters, platform_ids, "s", months=months)
        for row in _fetch(f"SELECT s.platform_id, NULL AS dispute_type, {_SELECT_SUMS} FROM {T.monthstat} s "
                          f"WHERE {where} GROUP BY s.platform_id", params):
            _add(acc[row["platform_id"]], row)
        for pid, dispute_type, opened in _fetch_rows(
                f"SELECT s.platform_id, s.dispute_type, SUM(s.opened) FROM {T.monthdispute} s WHERE {where} "
                "GROUP BY s.platform_id, s.dispute_type", params):
            acc[pid]["by_dispute_type"][dispute_type] += opened
    durations = _percentiles_sql(filters, platform_ids)
    merchants = _top_merchants(filters, platform_ids)
    result, context = {}, _context()
    for pid in platform_ids:
        figures = _figures(acc[pid], durations.get(pid, {}), context)
        figures["top_merchants"] = merchants.get(pid, [])
        result[pid] = figures
    return result


def period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(start: date, interval: str) -> date:
    if interval == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def platform_trend(*, platform_id: int, filters: StatsFilter, interval: str) -> list[dict]:
    """The platform's figures per week or month of the period (empty periods included). Monthly
    without filters: whole months from the monthly rollups, the partial months at the edges from the
    daily tables."""
    months, days = _segments(filters) if interval == "month" else (None, [(filters.date_from, filters.date_to)])
    rows, buckets, disputes = [], [], []
    if days:
        where, params = _where(filters, [platform_id], "s", days=days)
        rows = _fetch(f"SELECT s.day, s.dispute_type, {_SELECT_SUMS} FROM {T.dailystat} s WHERE {where} "
                      "GROUP BY s.day, s.dispute_type", params)
        bwhere, bparams = _where(filters, [platform_id], "b", days=days)
        buckets = _fetch(f"SELECT b.day, b.metric, b.minutes, SUM(b.n) AS n FROM {T.durationbucket} b "
                         f"WHERE {bwhere} GROUP BY b.day, b.metric, b.minutes", bparams)
    if months:
        where, params = _where(filters, [platform_id], "s", months=months)
        rows += _fetch(f"SELECT s.month AS day, NULL AS dispute_type, {_SELECT_SUMS} FROM {T.monthstat} s "
                       f"WHERE {where} GROUP BY s.month", params)
        disputes = _fetch_rows(f"SELECT s.month, s.dispute_type, SUM(s.opened) FROM {T.monthdispute} s "
                               f"WHERE {where} GROUP BY s.month, s.dispute_type", params)
        bwhere, bparams = _where(filters, [platform_id], "b", months=months)
        buckets += _fetch(f"SELECT b.month AS day, b.metric, b.minutes, SUM(b.n) AS n FROM {T.monthbucket} b "
                          f"WHERE {bwhere} GROUP BY b.month, b.metric, b.minutes", bparams)
    periods = {}
    start = period_start(filters.date_from, interval)
    while start <= filters.date_to:
        periods[start] = {"acc": _empty_sums(), "hist": defaultdict(lambda: defaultdict(int))}
        start = _next_period(start, interval)
    for row in rows:
        _add(periods[period_start(_as_date(row["day"]), interval)]["acc"], row)
    for month, dispute_type, opened in disputes:
        periods[period_start(_as_date(month), interval)]["acc"]["by_dispute_type"][dispute_type] += opened
    for row in buckets:
        periods[period_start(_as_date(row["day"]), interval)]["hist"][row["metric"]][row["minutes"]] += row["n"]
    series, context = [], _context()
    for start, data in periods.items():
        durations = {}
        for metric, histogram in data["hist"].items():
            values, count = percentiles_from_histogram(histogram)
            durations[metric] = {"values": values, "count": count}
        end = min(_next_period(start, interval) - timedelta(days=1), filters.date_to)
        series.append({"start": max(start, filters.date_from), "end": end, **_figures(data["acc"], durations, context)})
    return series


def _as_date(value: str | date) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
