# ruff: noqa: S608 - the SQL is built from constants; values always go through placeholders
"""Any period, composed of mergeable summaries: whole months from `stats_monthsummary` and the days at
its edges from `stats_daysummary` — or, when fewer rows, an edge month minus the days outside the period.
With a product or dispute type filter, the same from `stats_monthtypesummary` / `stats_daytypesummary`:
the rows of that filter's grouping, one per platform and month (day), as many as without a filter.

Every column of those summaries is a sum (counts, amounts, counts per status and dispute type, and
fixed-bucket histograms of both durations), so adding and subtracting rows gives the figures of exactly
the days asked for. A request reads at most a few dozen rows per platform whatever the number of cases.

Percentiles stay exact: the summed histogram says which bucket holds the rank p·(n−1) and how many values
lie below it; one index scan of the case facts inside that bucket (`stats_fact_*_order`) then returns the
value at that rank and the next, interpolated as percentile_cont does. That scan reads the platform's
facts within one bucket, a few percent of them.
"""

from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from cases.codes import DisputeType, Status

from . import dialect, rules
from .models import HISTOGRAM_PREFIX, histogram_column
from .schema import T

METRIC_COLUMNS = {1: "platform_response_minutes", 2: "resolution_minutes"}
LOOKUPS_PER_QUERY = 400  # other databases (placeholders per statement); PostgreSQL takes arrays: all at once


array_literal = dialect.array_literal
_param = dialect.param


def _month_after(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def spans(date_from: date, date_to: date) -> tuple[tuple[date, date] | None, list, list]:
    """(first and last whole month to add, day ranges to add, day ranges to subtract). Each month the
    period touches is read either as its days inside the period, or as the month minus its days outside
    the period, whichever reads fewer rows."""
    months, plus, minus = [], [], []
    month = date_from.replace(day=1)
    while month <= date_to:
        last = _month_after(month) - timedelta(days=1)
        a, b = max(month, date_from), min(last, date_to)
        inside = (b - a).days + 1
        outside = (last - month).days + 1 - inside
        if 1 + outside < inside:
            months.append(month)
            if a > month:
                minus.append((month, a - timedelta(days=1)))
            if b < last:
                minus.append((b + timedelta(days=1), last))
        else:
            plus.append((a, b))
        month = _month_after(month)
    return ((months[0], months[-1]) if months else None), plus, minus


def sum_columns() -> list[str]:
    from .selectors import SUM_COLUMNS

    columns = [*SUM_COLUMNS, *(f"st_{s}" for s in Status.values), *(f"dt_{d}" for d in DisputeType.values)]
    for metric in HISTOGRAM_PREFIX:
        columns += [histogram_column(metric, j) for j in range(len(rules.DURATION_BUCKETS))]
    return columns


def _scope(alias: str, platform_ids: list[int], organization_id: int | None, types: tuple | None = None,
           facts: bool = False) -> tuple[str, list]:
    """Platforms, organization and, with `types` (product type, dispute type; None = any), the filter: on
    the filtered summaries the row of that grouping ("" for any), on the facts the types themselves."""
    sql, params = dialect.id_in(f"{alias}.platform_id", platform_ids)
    if organization_id is not None:
        sql += f" AND {alias}.organization_id = %s"
        params.append(organization_id)
    if types is not None:
        for column, value in zip(("product_type", "dispute_type"), types, strict=True):
            if value is not None or not facts:
                sql += f" AND {alias}.{column} = %s"
                params.append(value or "")
    return sql, params


def _tables(types: tuple | None) -> tuple[str, str, str]:
    """(day summary, month summary, month merchants): the filtered ones when a type filter is set."""
    if types is None:
        return T.daysummary, T.monthsummary, T.monthmerchant
    return T.daytypesummary, T.monthtypesummary, T.monthtypemerchant


def _days(alias: str, ranges: list) -> tuple[str, list]:
    return ("(" + " OR ".join(f"{alias}.day BETWEEN %s AND %s" for _r in ranges) + ")",
            [_param(d) for r in ranges for d in r])


@contextmanager
def snapshot():
    """The summaries and the facts read from one snapshot (a refresh commits both at once), so the rank
    located in a histogram is the rank found in the facts. Inside an outer transaction: that one."""
    if not dialect.is_postgresql() or connection.in_atomic_block:
        yield
        return
    import psycopg

    connection.ensure_connection()
    raw = connection.connection  # the level goes with the BEGIN itself: no extra round trip
    saved = raw.isolation_level, raw.read_only
    raw.isolation_level, raw.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
    try:
        with transaction.atomic():
            yield
    finally:
        if not raw.closed:
            raw.isolation_level, raw.read_only = saved


def summed(platform_ids: list[int], organization_id: int | None, date_from: date, date_to: date,
           types: tuple | None = None) -> dict:
    """{platform: {"sums", "by_status", "by_dispute_type", "histograms": {metric: [counts]}}} over the period.
    `types`: (product type, dispute type), either None, for a filtered request; None without filter."""
    months, plus, minus = spans(date_from, date_to)
    day_table, month_table, _m = _tables(types)
    columns = sum_columns()
    listed = ", ".join(f"s.{c}" for c in columns)
    parts, params = [], []
    scope, scope_params = _scope("s", platform_ids, organization_id, types)
    if months:
        parts.append(f"SELECT s.platform_id, 1 AS sign, {listed} FROM {month_table} s "
                     f"WHERE {scope} AND s.month >= %s AND s.month <= %s")
        params += [*scope_params, _param(months[0]), _param(months[1])]
    for sign, day_ranges in ((1, plus), (-1, minus)):
        if day_ranges:
            days, day_params = _days("s", day_ranges)
            parts.append(f"SELECT s.platform_id, {sign} AS sign, {listed} FROM {day_table} s "
                         f"WHERE {scope} AND {days}")
            params += [*scope_params, *day_params]
    select = ", ".join(f"SUM(u.sign * u.{c}) AS {c}" for c in columns)
    sql = f"SELECT u.platform_id, {select} FROM ({' UNION ALL '.join(parts)}) u GROUP BY u.platform_id"
    from .selectors import SUM_COLUMNS

    n_sums, n_buckets = len(SUM_COLUMNS), len(rules.DURATION_BUCKETS)
    statuses, disputes = Status.values, DisputeType.values
    at_status = 1 + n_sums  # the columns come back in sum_columns() order, after the platform id
    at_dispute = at_status + len(statuses)
    at_histograms = at_dispute + len(disputes)
    metrics = list(HISTOGRAM_PREFIX)
    out: dict[int, dict[str, Any]] = {pid: {"sums": defaultdict(int), "by_status": defaultdict(int), "by_dispute_type": defaultdict(int),
                 "histograms": {m: [0] * n_buckets for m in metrics}} for pid in platform_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:  # slices, not a name test per column: a CSV of every platform is 500 rows of ~170 values
        acc = out[row[0]]
        sums = acc["sums"]
        for name, value in zip(SUM_COLUMNS, row[1:at_status], strict=True):
            if value:
                sums[name] = Decimal(str(value)) if name.startswith("amount_") else int(value)
        acc["by_status"].update({k: int(v) for k, v in zip(statuses, row[at_status:at_dispute], strict=True) if v})
        acc["by_dispute_type"].update(
            {k: int(v) for k, v in zip(disputes, row[at_dispute:at_histograms], strict=True) if v})
        for i, metric in enumerate(metrics):
            first = at_histograms + i * n_buckets
            acc["histograms"][metric] = [int(v or 0) for v in row[first:first + n_buckets]]
    return out


def _locate(histogram: list[int], rank: int) -> tuple[int, int]:
    """(bucket holding the 0-based rank, the rank's position inside that bucket)."""
    below = 0
    for j, n in enumerate(histogram):
        if below + n > rank:
            return j, rank - below
        below += n
    raise ValueError(rank)


def exact_percentiles(summed_rows: dict, organization_id: int | None, date_from: date, date_to: date,
                      types: tuple | None = None) -> dict:
    """{platform: {metric: {"values": {"median", "p90"}, "count"}}}: exact, percentile_cont over the facts."""
    lookups: dict[tuple, int] = {}  # (platform, metric, bucket, offset) -> how many values from there
    wanted = []  # (platform, metric, name, key, rest, den, count)
    result: defaultdict[int, dict] = defaultdict(dict)
    minimum = max(1, rules.min_sample())
    for pid, acc in summed_rows.items():
        for metric, histogram in acc["histograms"].items():
            count = sum(histogram)
            if count < minimum:  # withheld anyway: the count is all that is shown
                if count > 0:
                    result[pid][metric] = {"values": {}, "count": count}
                continue
            for name, (num, den) in rules.PERCENTILES.items():
                low, rest = divmod((count - 1) * num, den)
                bucket, offset = _locate(histogram, low)
                key = (pid, metric, bucket, offset)
                lookups[key] = max(lookups.get(key, 1), 2 if rest else 1)
                wanted.append((pid, metric, name, key, rest, den, count))
    found = _fetch_values(lookups, organization_id, date_from, date_to, types)
    for pid, metric, name, key, rest, den, count in wanted:
        values = found.get(key, [])
        if len(values) < (2 if rest else 1):
            raise LookupError(key)  # the facts disagree with the summaries: the caller falls back
        value = values[0] + (values[1] - values[0]) * rest / den if rest else values[0]
        entry = result[pid].setdefault(metric, {"values": {}, "count": count})
        entry["values"][name] = round(float(value), 2)
    return result


def _fetch_values(lookups: dict, organization_id: int | None, date_from: date, date_to: date,
                  types: tuple | None) -> dict:
    keys = list(lookups)
    if not keys:
        return {}
    found = defaultdict(list)
    size = len(keys) if dialect.is_postgresql() else LOOKUPS_PER_QUERY
    for start in range(0, len(keys), size):
        chunk = keys[start:start + size]
        sql, params = (_lateral_sql if dialect.is_postgresql() else _union_sql)(
            chunk, lookups, organization_id, date_from, date_to, types)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for k, x in cursor.fetchall():
                found[chunk[k]].append(int(x))
    return found


def _fact_conditions(column: str, organization_id: int | None, types: tuple | None) -> tuple[str, list, list]:
    """The facts of one platform inside a bucket (`{g}`, `{lo}` filled in by the caller) and the period,
    with the type filter (both types are in the order indexes: filtered without reading the table)."""
    org = " AND f.organization_id = %s" if organization_id is not None else ""
    typed = [(c, v) for c, v in zip(("product_type", "dispute_type"), types or (None, None), strict=True) if v]
    condition = "".join(f" AND f.{c} = %s" for c, _v in typed)
    params = [p for p in (organization_id,) if p is not None]
    return (f"f.platform_id = {{g}}{org} AND f.day >= %s AND f.day <= %s{condition} AND f.{column} >= {{lo}}",
            params, [v for _c, v in typed])


def _lateral_sql(chunk, lookups, organization_id, date_from, date_to, types) -> tuple[str, list]:
    """PostgreSQL: one statement, planned once; each lookup is an ordered index scan that stops after
    offset + 1 or 2 rows."""
    parts, params = [], []
    for metric, column in METRIC_COLUMNS.items():
        rows = [(k, key) for k, key in enumerate(chunk) if key[1] == metric]
        if not rows:
            continue
        params += [array_literal(k for k, _key in rows), array_literal(key[0] for _k, key in rows),
                   array_literal(rules.DURATION_BUCKETS[key[2]] for _k, key in rows),
                   array_literal(lookups[key] for _k, key in rows), array_literal(key[3] for _k, key in rows)]
        where, org_params, type_params = _fact_conditions(column, organization_id, types)
        where = where.format(g="t.g", lo="t.lo")
        parts.append("SELECT t.k, v.x FROM unnest(%s::integer[], %s::bigint[], %s::integer[], %s::integer[], "
                     "%s::integer[]) AS t(k, g, lo, lim, off) CROSS JOIN LATERAL ("
                     f"SELECT f.{column} AS x FROM {T.casefact} f WHERE {where} "
                     f"ORDER BY f.{column} LIMIT t.lim OFFSET t.off) v")
        params += [*org_params, date_from, date_to, *type_params]
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2", params


def _union_sql(chunk, lookups, organization_id, date_from, date_to, types) -> tuple[str, list]:
    """Other databases: one subquery per lookup."""
    parts, params = [], []
    for k, (pid, metric, bucket, offset) in enumerate(chunk):
        column = METRIC_COLUMNS[metric]
        where, org_params, type_params = _fact_conditions(column, organization_id, types)
        where = where.format(g="%s", lo="%s")
        parts.append(f"SELECT {k} AS k, x FROM (SELECT f.{column} AS x FROM {T.casefact} f WHERE {where} "
                     f"ORDER BY f.{column} LIMIT %s OFFSET %s)")
        params += [pid, *org_params, _param(date_from), _param(date_to), *type_params,
                   rules.DURATION_BUCKETS[bucket], lookups[chunk[k]], offset]
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2", params


def merchant_counts(platform_ids: list[int], organization_id: int | None, date_from: date,
                    date_to: date, types: tuple | None = None) -> list[tuple]:
    """(platform, merchant, complaints, merchant's name) over the period: whole months from the monthly merchant rollup, the
    edge days (added or subtracted) counted from the facts through a covering index."""
    months, plus, minus = spans(date_from, date_to)
    merchant_table = _tables(types)[2]
    parts, params = [], []
    if months:
        scope, scope_params = _scope("s", platform_ids, organization_id, types)
        parts.append(f"SELECT s.platform_id, s.merchant_id, SUM(s.n) AS n FROM {merchant_table} s "
                     f"WHERE {scope} AND s.month >= %s AND s.month <= %s GROUP BY s.platform_id, s.merchant_id")
        params += [*scope_params, _param(months[0]), _param(months[1])]
    for sign, ranges in ((1, plus), (-1, minus)):
        for first, last in ranges:  # one branch per range: an index-only scan (an OR would read the heap)
            scope, scope_params = _scope("f", platform_ids, organization_id, types, facts=True)
            parts.append(f"SELECT f.platform_id, f.merchant_id, {sign} * COUNT(*) AS n FROM {T.casefact} f "
                         f"WHERE {scope} AND f.day >= %s AND f.day <= %s AND f.merchant_id IS NOT NULL "
                         "GROUP BY f.platform_id, f.merchant_id")
            params += [*scope_params, _param(first), _param(last)]
    sql = (f"SELECT u.platform_id, u.merchant_id, SUM(u.n), MAX(m.name) FROM ({' UNION ALL '.join(parts)}) u "
           "LEFT JOIN cases_merchant m ON m.id = u.merchant_id "
           "GROUP BY u.platform_id, u.merchant_id HAVING SUM(u.n) > 0")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
