# ruff: noqa: S608 - the SQL is built from constants; values always go through placeholders
"""Keeping the summary tables current: a full rebuild and an incremental refresh, both idempotent.

Both run in one transaction under the row lock of `RefreshState`, so two runs never interleave and
a failed run leaves the tables as they were. The SQL is plain and portable (PostgreSQL and SQLite);
only "local date of a timestamp", "whole minutes between two timestamps" and "the later of two
timestamps" differ per database.

Every aggregate is written once as "a sum of weights over facts": the rebuild runs it over
`stats_casefact` with weight 1, the refresh over `stats_deltafact` (the changed cases' old facts with
weight −1 and their new facts with +1) and adds the result to the existing rows with an upsert
(`INSERT … ON CONFLICT … DO UPDATE`), then drops the rows that fell to zero. So a refresh costs in
proportion to the changed cases, never to the size of a day, a month or a year.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from cases.codes import DisputeType, Status
from escalation import rules as escalation_rules

from . import rules
from .models import HISTOGRAM_PREFIX, RefreshState, histogram_column

logger = logging.getLogger(__name__)

# Rows whose updated_at lies this far before the watermark are looked at again (a transaction that
# committed late carries an earlier timestamp), but only those whose stamp differs from the one their
# fact was computed from are recomputed, so the overlap costs an index range scan, not a recomputation.
REFRESH_OVERLAP = timedelta(minutes=10)

FACT_COLUMNS = (
    "case_id", "organization_id", "platform_id", "merchant_id", "day", "product_type", "dispute_type", "status",
    "outcome", "amount_paid", "amount_recovered", "consumer_rating", "resolution_minutes", "max_level",
    "platform_escalated", "platform_responded", "platform_in_window", "platform_response_minutes",
    "source_updated_at",
)
METRICS = ((1, "platform_response_minutes"), (2, "resolution_minutes"))
SUMMARY_TABLES = ("stats_daysummary", "stats_monthsummary", "stats_daytypesummary", "stats_monthtypesummary",
                  "stats_monthtypemerchant", "stats_dailystat", "stats_durationbucket", "stats_monthstat", "stats_monthdispute",
                  "stats_monthmerchant", "stats_monthbucket")
PERIOD_TABLES = ("stats_periodstat", "stats_perioddispute", "stats_periodmerchant", "stats_periodduration")


def _local_day(col: str) -> str:
    if connection.vendor == "postgresql":
        return f"(({col}) AT TIME ZONE '{settings.TIME_ZONE}')::date"
    offset = timezone.now().astimezone(timezone.get_default_timezone()).utcoffset() or timedelta()
    return f"date({col}, '{int(offset.total_seconds() // 60):+d} minutes')"


def _minutes(start: str, end: str) -> str:
    """Whole minutes from start to end (floor), NULL when either is missing or end < start."""
    if connection.vendor == "postgresql":
        span = f"FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 60)::integer"
    else:
        span = f"CAST((julianday({end}) - julianday({start})) * 1440.0 + 0.0001 AS INTEGER)"
    return f"CASE WHEN {start} IS NOT NULL AND {end} IS NOT NULL AND {end} >= {start} THEN {span} END"


def _later(a: str, b: str) -> str:
    """The later of two timestamps, `a` when `b` is NULL."""
    fn = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    return f"{fn}({a}, COALESCE({b}, {a}))"


def _greatest(a: str, b: str) -> str:
    fn = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    return f"{fn}({a}, {b})"


def _month(col: str) -> str:
    if connection.vendor == "postgresql":
        return f"(date_trunc('month', {col}))::date"
    return f"date({col}, 'start of month')"


def _sums(w: str) -> list[tuple[str, str]]:
    """(column, aggregate) of the additive figures, as sums of the weight `w` (1, or ±1 in a refresh)."""
    amount = "ROUND({}, 2)"
    return [
        ("opened", f"SUM({w})"),
        ("favourable", f"SUM(CASE WHEN f.outcome = 'favourable' THEN {w} ELSE 0 END)"),
        ("partial", f"SUM(CASE WHEN f.outcome = 'partial' THEN {w} ELSE 0 END)"),
        ("unfavourable", f"SUM(CASE WHEN f.outcome = 'unfavourable' THEN {w} ELSE 0 END)"),
        ("platform_escalated", f"SUM(CASE WHEN f.platform_escalated THEN {w} ELSE 0 END)"),
        ("platform_responded", f"SUM(CASE WHEN f.platform_responded THEN {w} ELSE 0 END)"),
        ("platform_in_window", f"SUM(CASE WHEN f.platform_in_window THEN {w} ELSE 0 END)"),
        ("amount_paid", amount.format(f"SUM({w} * f.amount_paid)")),
        ("amount_recovered", amount.format(f"COALESCE(SUM({w} * f.amount_recovered), 0)")),
        ("rating_sum", f"COALESCE(SUM({w} * f.consumer_rating), 0)"),
        ("rating_count", f"SUM(CASE WHEN f.consumer_rating IS NOT NULL THEN {w} ELSE 0 END)"),
        *((f"level_{n}", f"SUM(CASE WHEN f.max_level = {n} THEN {w} ELSE 0 END)") for n in (1, 2, 3, 4)),
    ]


def _summary_values(w: str, sums: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The columns of the day and month summaries: the sums, counts per status and dispute type, and the
    fixed-bucket histograms of both durations (NULL when empty)."""
    values = [*sums]
    values += [(f"st_{s}", f"SUM(CASE WHEN f.status = '{s}' THEN {w} ELSE 0 END)") for s in Status.values]
    values += [(f"dt_{d}", f"SUM(CASE WHEN f.dispute_type = '{d}' THEN {w} ELSE 0 END)") for d in DisputeType.values]
    bounds = rules.DURATION_BUCKETS
    for metric, column in METRICS:
        for j, low in enumerate(bounds):
            below = f" AND f.{column} < {bounds[j + 1]}" if j + 1 < len(bounds) else ""
            values.append((histogram_column(metric, j), f"NULLIF(SUM(CASE WHEN f.{column} >= {low}{below} THEN {w} END), 0)"))
    return values


def _aggregates(w: str, join: str = "", org: str = "f.organization_id", period: str = "p.id") -> list[tuple]:
    """(table, key columns, key expressions, [(value column, aggregate)], extra condition) of every
    summary table. `join` adds `stats_statsperiod p` for the period tables (or is empty for the others)."""
    sums = _sums(w)
    n = [("n", f"SUM({w})")]
    day = ["platform_id", "day", "organization_id", "product_type", "dispute_type"]
    day_x = ["f.platform_id", "f.day", "f.organization_id", "f.product_type", "f.dispute_type"]
    month = ["platform_id", "month", "organization_id"]
    month_x = ["f.platform_id", _month("f.day"), "f.organization_id"]
    summary = _summary_values(w, sums)
    out = [
        ("stats_daysummary", day[:3], day_x[:3], summary, ""),
        ("stats_monthsummary", month, month_x, summary, ""),
        ("stats_dailystat", [*day, "status"], [*day_x, "f.status"], sums, ""),
        ("stats_monthstat", [*month, "status"], [*month_x, "f.status"], sums, ""),
        ("stats_monthdispute", [*month, "dispute_type"], [*month_x, "f.dispute_type"], [("opened", f"SUM({w})")], ""),
        ("stats_monthmerchant", [*month, "merchant_id"], [*month_x, "f.merchant_id"], n,
         "f.merchant_id IS NOT NULL"),
    ]
    for metric, column in METRICS:
        out.append(("stats_durationbucket", [*day, "metric", "minutes"], [*day_x, str(metric), f"f.{column}"], n,
                    f"f.{column} IS NOT NULL"))
        out.append(("stats_monthbucket", [*month, "metric", "minutes"], [*month_x, str(metric), f"f.{column}"], n,
                    f"f.{column} IS NOT NULL"))
    for product, dispute in TYPE_GROUPINGS:  # the filtered summaries: "" stands for every type
        types = [product, dispute]
        out += [
            ("stats_daytypesummary", day, [*day_x[:3], *types], summary, ""),
            ("stats_monthtypesummary", [*month, "product_type", "dispute_type"], [*month_x, *types], summary, ""),
            ("stats_monthtypemerchant", [*month, "product_type", "dispute_type", "merchant_id"],
             [*month_x, *types, "f.merchant_id"], n, "f.merchant_id IS NOT NULL"),
        ]
    if join:
        period_key = ["period_id", "organization_id", "platform_id"]
        period_x = [period, org, "f.platform_id"]
        out = [
            ("stats_periodstat", [*period_key, "status"], [*period_x, "f.status"], sums, ""),
            ("stats_perioddispute", [*period_key, "dispute_type"], [*period_x, "f.dispute_type"],
             [("opened", f"SUM({w})")], ""),
            ("stats_periodmerchant", [*period_key, "merchant_id"], [*period_x, "f.merchant_id"], n,
             "f.merchant_id IS NOT NULL"),
        ]
    return out


# (product type, dispute type) of the rows of the filtered summaries: a product type filter, a dispute type
# filter, and both.
TYPE_GROUPINGS = (("f.product_type", "''"), ("''", "f.dispute_type"), ("f.product_type", "f.dispute_type"))


def _merge(table: str, column: str) -> str:
    """How the upsert adds a signed difference to a stored figure."""
    if column.startswith("amount_"):
        return f"{column} = ROUND({table}.{column} + excluded.{column}, 2)"
    if column.startswith(tuple(f"{p}_" for p in HISTOGRAM_PREFIX.values())):  # sparse: NULL is empty
        return f"{column} = NULLIF(COALESCE({table}.{column}, 0) + COALESCE(excluded.{column}, 0), 0)"
    return f"{column} = {table}.{column} + excluded.{column}"


def _constant(expression: str) -> bool:
    """A literal among the key expressions (a metric number, the "" of every type): not grouped by."""
    return expression.isdigit() or expression.startswith("'")


def _aggregate_sql(source: str, w: str, upsert: bool, join: str = "", org: str = "f.organization_id",
                   where: str = "") -> list[str]:
    statements = []
    for table, keys, key_x, values, condition in _aggregates(w, join, org):
        conditions = " AND ".join(c for c in ("1 = 1", condition, where) if c)
        sql = (f"INSERT INTO {table} ({', '.join(keys + [c for c, _a in values])}) "
               f"SELECT {', '.join(key_x + [a for _c, a in values])} FROM {source} f {join} "
               f"WHERE {conditions} GROUP BY {', '.join(x for x in key_x if not _constant(x))}")
        if upsert:
            sets = ", ".join(_merge(table, c) for c, _a in values)
            sql += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
        statements.append(sql)
    return statements


def _fact_select_sql(where_case: str = "", where_escalation: str = "") -> str:
    on_platform = "e.channel = 'platform'"
    # A real answer: an answer time, and not closed as "no response" (README, "Statistics").
    answered = f"{on_platform} AND e.responded_at IS NOT NULL AND e.outcome <> 'no_response'"
    # The level reached: the highest of the escalations and of the case status (escalation's own rule).
    by_status = ("CASE c.status " + " ".join(f"WHEN '{status}' THEN {level}" for status, level
                                             in sorted(escalation_rules.LEVEL_OF_STATUS.items())) + " ELSE 0 END")
    return f"""
SELECT c.id, c.organization_id, c.platform_id, c.merchant_id, {_local_day("c.created_at")},
    c.product_type, c.dispute_type, c.status, c.outcome, c.amount_paid, c.amount_recovered,
    c.consumer_rating,
    CASE WHEN c.status = 'resolved' THEN {_minutes("c.created_at", "c.closed_at")} END,
    NULLIF({_greatest(by_status, "COALESCE(x.max_level, 0)")}, 0),
    COALESCE(x.p_esc, 0) = 1, COALESCE(x.p_resp, 0) = 1, COALESCE(x.p_win, 0) = 1, x.p_minutes,
    {_later("c.updated_at", "x.updated_at")}
FROM cases_case c
LEFT JOIN (
    SELECT e.case_id,
        MAX(e.level) AS max_level,
        MAX(CASE WHEN {on_platform} THEN 1 ELSE 0 END) AS p_esc,
        MAX(CASE WHEN {answered} THEN 1 ELSE 0 END) AS p_resp,
        MAX(CASE WHEN {answered} AND (e.due_at IS NULL OR e.responded_at <= e.due_at) THEN 1 ELSE 0 END) AS p_win,
        MIN(CASE WHEN {answered} THEN {_minutes("e.submitted_at", "e.responded_at")} END) AS p_minutes,
        MAX(e.updated_at) AS updated_at
    FROM escalation_escalation e {where_escalation}
    GROUP BY e.case_id
) x ON x.case_id = c.id
{where_case}
"""


def _fact_insert_sql(where_case: str = "", where_escalation: str = "") -> str:
    return (f"INSERT INTO stats_casefact ({', '.join(FACT_COLUMNS)}) "
            + _fact_select_sql(where_case, where_escalation))


def _duration_sql(period_filter: str, org: str) -> list[str]:
    """Exact median and p90 per (period, organization, platform, metric) from the facts: rank the values
    with ROW_NUMBER and interpolate between the two ranks around p·(n−1), as percentile_cont does."""
    statements = []
    for metric, column in METRICS:
        picks, wanted = [], []
        for name, (num, den) in rules.PERCENTILES.items():
            low = f"((n - 1) * {num} / {den})"
            rest = f"((n - 1) * {num} - {low} * {den})"  # the remainder ("%" is a placeholder mark)
            lo = f"MAX(CASE WHEN rn = {low} THEN x END)"
            hi = f"MAX(CASE WHEN rn = {low} + 1 THEN x END)"
            picks.append(f"{lo} + ((COALESCE({hi}, {lo}) - {lo}) * {rest}) * 1.0 / {den} AS {name}")
            wanted.append(f"rn = {low} OR rn = {low} + 1")
        statements.append(f"""
INSERT INTO stats_periodduration (period_id, organization_id, platform_id, metric, n, median, p90)
SELECT period_id, org, platform_id, {metric}, n, {", ".join(picks)}
FROM (
    SELECT period_id, org, platform_id, x,
        ROW_NUMBER() OVER (PARTITION BY period_id, org, platform_id ORDER BY x) - 1 AS rn,
        COUNT(*) OVER (PARTITION BY period_id, org, platform_id) AS n
    FROM (
        SELECT p.id AS period_id, {org} AS org, f.platform_id, f.{column} AS x
        FROM stats_casefact f JOIN stats_statsperiod p ON f.day >= p.first_day AND f.day <= p.last_day
        WHERE f.{column} IS NOT NULL AND {period_filter.format(metric=metric)}
    ) v
) r
WHERE {" OR ".join(wanted)}
GROUP BY period_id, org, platform_id, n
""")
    return statements


def _org_expr() -> str:
    return "0" if rules.scope() == "national" else "f.organization_id"


PERIOD_JOIN = "JOIN stats_statsperiod p ON f.day >= p.first_day AND f.day <= p.last_day"


def _period_fill(cursor: _Timed, period_filter: str, params: list) -> None:
    """The period tables of the periods matching `period_filter` (on `p`), computed from the facts."""
    org = _org_expr()
    for sql in _aggregate_sql("stats_casefact", "1", False, PERIOD_JOIN, org, period_filter):
        cursor.execute(sql, params)
    for sql in _duration_sql(period_filter, org):
        cursor.execute(sql, params)


def _standard_periods(today: date, first: date | None, last: date | None) -> list[tuple[date, date, bool]]:
    """Each calendar year from the first fact to this year, and the last 365 days ending today."""
    first_year = (first or today).year
    last_year = max((last or today).year, today.year)
    periods = [(date(y, 1, 1), date(y, 12, 31), False) for y in range(first_year, last_year + 1)]
    rolling = (today - timedelta(days=364), today, True)
    if rolling[:2] not in [p[:2] for p in periods]:  # on 31 December of a common year it is that year
        periods.insert(0, rolling)
    return periods


def _insert_period(cursor: _Timed, first_day: date, last_day: date, rolling: bool) -> int:
    cursor.execute("INSERT INTO stats_statsperiod (first_day, last_day, rolling, scope) VALUES (%s, %s, %s, %s)",
                   [first_day, last_day, rolling, rules.scope()])
    cursor.execute("SELECT id FROM stats_statsperiod WHERE first_day = %s AND last_day = %s AND scope = %s",
                   [first_day, last_day, rules.scope()])
    return cursor.fetchone()[0]


def _delete_periods(cursor: _Timed, where: str, params: list) -> None:
    ids = f"SELECT id FROM stats_statsperiod WHERE {where}"
    for table in PERIOD_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE period_id IN ({ids})", params)
    cursor.execute(f"DELETE FROM stats_statsperiod WHERE {where}", params)


def _ensure_periods(cursor: _Timed) -> int:
    """Add this year's period and today's rolling year when missing (once a day; computed from the facts)
    and drop the rolling years that ended before today. Returns how many periods were added."""
    today = timezone.localdate()
    _delete_periods(cursor, "rolling = %s AND last_day <> %s", [True, today])
    added = 0
    for first_day, last_day, rolling in _standard_periods(today, today, today):
        cursor.execute("SELECT 1 FROM stats_statsperiod WHERE first_day = %s AND last_day = %s AND scope = %s",
                       [first_day, last_day, rules.scope()])
        if cursor.fetchone() is None:
            period_id = _insert_period(cursor, first_day, last_day, rolling)
            _period_fill(cursor, "p.id = %s", [period_id])
            added += 1
    return added


def _state() -> RefreshState:
    RefreshState.objects.get_or_create(pk=1)
    state = RefreshState.objects.select_for_update().get(pk=1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # sorts for the percentiles stay in memory (this transaction only)
            cursor.execute("SET LOCAL work_mem = '64MB'")
    return state


class _Timed:
    """A cursor wrapper that logs each statement's duration (DEBUG, logger stats.services)."""

    def __init__(self, cursor: CursorWrapper) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        started = time.perf_counter()
        self.cursor.execute(sql, params)
        logger.debug("%.3f s %s", time.perf_counter() - started, " ".join(sql.split())[:90])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def _vacuum(tables: Iterable[str]) -> None:
    if connection.vendor == "postgresql" and connection.get_autocommit():
        with connection.cursor() as cursor:  # fresh statistics and visibility map for index-only scans
            cursor.execute("VACUUM ANALYZE " + ", ".join(tables))


def stats_rebuild() -> dict:
    """Recompute every summary table from the cases and escalations (nightly; idempotent)."""
    started = timezone.now()
    with transaction.atomic():
        state = _state()
        with connection.cursor() as raw:
            cursor = _Timed(raw)
            for table in ("stats_casefact", *SUMMARY_TABLES, *PERIOD_TABLES, "stats_statsperiod"):
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute(_fact_insert_sql())
            facts = cursor.rowcount
            for sql in _aggregate_sql("stats_casefact", "1", upsert=False):
                cursor.execute(sql)
            cursor.execute("SELECT MIN(day), MAX(day) FROM stats_casefact")
            first, last = (_as_date(d) for d in cursor.fetchone())
            for first_day, last_day, rolling in _standard_periods(timezone.localdate(), first, last):
                _insert_period(cursor, first_day, last_day, rolling)
            _period_fill(cursor, "1 = 1", [])
        state.watermark = started
        state.last_rebuild_at = started
        state.save()
    _vacuum(("stats_casefact", *SUMMARY_TABLES, *PERIOD_TABLES))
    return {"cases": facts}


def _as_date(value: str | date | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def stats_refresh() -> dict:
    """Recompute only what changed since the last run: the cases whose case or escalation rows were
    updated after the watermark (minus the overlap) and whose fact is not already current. Their old
    facts are subtracted from and their new facts added to every summary row they are in. Without a
    watermark (or after a change of scope) it is a full rebuild."""
    started = timezone.now()
    with transaction.atomic():
        state = _state()
        with connection.cursor() as probe:
            probe.execute("SELECT COUNT(*) FROM stats_statsperiod WHERE scope <> %s", [rules.scope()])
            scope_changed = probe.fetchone()[0] > 0
        if state.watermark is not None and not scope_changed:
            since = state.watermark - REFRESH_OVERLAP
            with connection.cursor() as raw:
                cursor = _Timed(raw)
                changed, duration_groups = _apply_changes(cursor, since)
                periods_added = _ensure_periods(cursor)
            state.watermark = started
            state.last_refresh_at = started
            state.save()
            return {"cases": changed, "percentiles": duration_groups, "periods_added": periods_added}
    return {"rebuilt": stats_rebuild()}


def _analyze(cursor: _Timed, table: str) -> None:
    """Fresh planner statistics for a work table just filled: without them PostgreSQL assumes whatever the
    table held at the last autovacuum (often nothing) and may scan every case or fact instead of using the
    indexes (a refresh of 1,000 cases grew from 0.3 s to 4.7 s). ANALYZE runs inside the transaction."""
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {table}")


def _apply_changes(cursor: _Timed, since: datetime) -> tuple[int, int]:
    cursor.execute("DELETE FROM stats_dirtycase")
    cursor.execute("DELETE FROM stats_deltafact")
    cursor.execute("DELETE FROM stats_dirtyduration")
    cursor.execute(
        "INSERT INTO stats_dirtycase (case_id) SELECT id FROM cases_case WHERE updated_at > %s "
        "UNION SELECT case_id FROM escalation_escalation WHERE updated_at > %s",
        [since, since],
    )
    _analyze(cursor, "stats_dirtycase")
    # Seen in an earlier run and unchanged since: the fact's stamp equals the rows' latest updated_at.
    cursor.execute(f"""
        DELETE FROM stats_dirtycase WHERE case_id IN (
            SELECT f.case_id FROM stats_casefact f
            JOIN stats_dirtycase d ON d.case_id = f.case_id
            JOIN cases_case c ON c.id = f.case_id
            WHERE f.source_updated_at = {_later("c.updated_at",
                "(SELECT MAX(e.updated_at) FROM escalation_escalation e WHERE e.case_id = c.id)")})""")
    cursor.execute("SELECT COUNT(*) FROM stats_dirtycase")
    changed = cursor.fetchone()[0]
    if not changed:
        return 0, 0
    _analyze(cursor, "stats_dirtycase")
    dirty = "IN (SELECT case_id FROM stats_dirtycase)"
    columns = ", ".join(FACT_COLUMNS)
    cursor.execute(f"INSERT INTO stats_deltafact (sign, {columns}) "
                   f"SELECT -1, {columns} FROM stats_casefact WHERE case_id {dirty}")
    cursor.execute(f"DELETE FROM stats_casefact WHERE case_id {dirty}")
    cursor.execute(_fact_insert_sql(f"WHERE c.id {dirty}", f"WHERE e.case_id {dirty}"))
    cursor.execute(f"INSERT INTO stats_deltafact (sign, {columns}) "
                   f"SELECT 1, {columns} FROM stats_casefact WHERE case_id {dirty}")
    # A case whose figures did not change (only its stamp did) cancels out: drop both of its rows.
    _analyze(cursor, "stats_deltafact")
    same = ", ".join(c for c in FACT_COLUMNS if c != "source_updated_at")
    cursor.execute(f"DELETE FROM stats_deltafact WHERE case_id IN (SELECT case_id FROM stats_deltafact "
                   f"GROUP BY {same} HAVING COUNT(*) = 2 AND SUM(sign) = 0)")
    # Additive figures: add the signed sums, then drop the rows that fell to zero.
    org = _org_expr()
    statements = (_aggregate_sql("stats_deltafact", "f.sign", upsert=True)
                  + _aggregate_sql("stats_deltafact", "f.sign", True, PERIOD_JOIN, org))
    for sql in statements:
        cursor.execute(sql)
    for table, keys, key_x, values, _c in (_aggregates("f.sign") + _aggregates("f.sign", PERIOD_JOIN, org)):
        count = values[0][0]
        match = " AND ".join(f"{table}.{k} = {x}" for k, x in zip(keys, key_x, strict=True))
        join = PERIOD_JOIN if table.startswith("stats_period") else ""
        cursor.execute(f"DELETE FROM {table} WHERE {count} = 0 AND EXISTS "
                       f"(SELECT 1 FROM stats_deltafact f {join} WHERE {match})")
    # Percentiles are not additive: recompute those of the periods whose values changed.
    for metric, column in METRICS:
        cursor.execute(f"""INSERT INTO stats_dirtyduration (period_id, organization_id, platform_id, metric)
            SELECT DISTINCT p.id, {org}, f.platform_id, {metric} FROM stats_deltafact f {PERIOD_JOIN}
            WHERE f.{column} IS NOT NULL""")
    cursor.execute("SELECT COUNT(*) FROM stats_dirtyduration")
    duration_groups = cursor.fetchone()[0]
    if duration_groups:
        _analyze(cursor, "stats_dirtyduration")
        cursor.execute("DELETE FROM stats_periodduration WHERE EXISTS (SELECT 1 FROM stats_dirtyduration d "
                       "WHERE d.period_id = stats_periodduration.period_id "
                       "AND d.organization_id = stats_periodduration.organization_id "
                       "AND d.platform_id = stats_periodduration.platform_id "
                       "AND d.metric = stats_periodduration.metric)")
        dirty_duration = (f"EXISTS (SELECT 1 FROM stats_dirtyduration d WHERE d.period_id = p.id "
                          f"AND d.organization_id = {org} AND d.platform_id = f.platform_id "
                          "AND d.metric = {metric})")
        for sql in _duration_sql(dirty_duration, org):
            cursor.execute(sql)
    for table in ("stats_dirtycase", "stats_deltafact", "stats_dirtyduration"):
        cursor.execute(f"DELETE FROM {table}")
    return changed, duration_groups
