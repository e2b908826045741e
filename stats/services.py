# ruff: noqa: S608 - the SQL is built from constants; values always go through placeholders
"""Keeping the summary tables current: a full rebuild and an incremental refresh, both idempotent.

Both run in one transaction under the row lock of `RefreshState`, so two runs never interleave and
a failed run leaves the tables as they were. The SQL is plain and portable (PostgreSQL and SQLite);
what differs per database is in stats/dialect.py; table and column names come from the models
(stats/schema.py) and code values from the enums.

Every aggregate is written once as "a sum of weights over facts": the rebuild runs it over
the case facts with weight 1, the refresh over the delta facts (the changed cases' old facts with
weight −1 and their new facts with +1) and adds the result to the existing rows with an upsert
(`INSERT … ON CONFLICT … DO UPDATE`), then drops the rows that fell to zero. So a refresh costs in
proportion to the changed cases, never to the size of a day, a month or a year.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from cases.codes import DisputeType, Outcome, Status
from escalation import rules as escalation_rules
from escalation.codes import Channel, EscalationOutcome

from . import answers, dialect, rules
from .models import HISTOGRAM_PREFIX, CaseFact, RefreshState, histogram_column
from .schema import CASE_TABLE, ESCALATION_TABLE, T, case_columns, escalation_columns
from .schema import column as model_column

logger = logging.getLogger(__name__)

# Rows whose updated_at lies this far before the watermark are looked at again (a transaction that
# committed late carries an earlier timestamp), but only those whose stamp differs from the one their
# fact was computed from are recomputed, so the overlap costs an index range scan, not a recomputation.
REFRESH_OVERLAP = timedelta(minutes=10)

# The columns of a fact, in the order _fact_select_sql computes them.
FACT_COLUMNS = tuple(model_column(CaseFact, name) for name in (
    "case_id", "organization_id", "platform_id", "merchant_id", "day", "product_type", "dispute_type", "status",
    "outcome", "amount_paid", "amount_recovered", "consumer_rating", "resolution_minutes", "max_level",
    "platform_escalated", "platform_responded", "platform_in_window", "platform_response_minutes",
    "source_updated_at",
))
METRICS = ((1, "platform_response_minutes"), (2, "resolution_minutes"))
SUMMARY_TABLES = (T.daysummary, T.monthsummary, T.daytypesummary, T.monthtypesummary, T.monthtypemerchant,
                  T.dailystat, T.durationbucket, T.monthstat, T.monthdispute, T.monthmerchant, T.monthbucket)
PERIOD_TABLES = (T.periodstat, T.perioddispute, T.periodmerchant, T.periodduration)


def _sums(w: str) -> list[tuple[str, str]]:
    """(column, aggregate) of the additive figures, as sums of the weight `w` (1, or ±1 in a refresh)."""
    amount = "ROUND({}, 2)"
    return [
        ("opened", f"SUM({w})"),
        *((outcome, f"SUM(CASE WHEN f.outcome = {_quoted(outcome)} THEN {w} ELSE 0 END)")
          for outcome in Outcome.values),
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
    values += [(f"st_{s}", f"SUM(CASE WHEN f.status = {_quoted(s)} THEN {w} ELSE 0 END)") for s in Status.values]
    values += [(f"dt_{d}", f"SUM(CASE WHEN f.dispute_type = {_quoted(d)} THEN {w} ELSE 0 END)")
               for d in DisputeType.values]
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
    month_x = ["f.platform_id", dialect.month("f.day"), "f.organization_id"]
    summary = _summary_values(w, sums)
    out = [
        (T.daysummary, day[:3], day_x[:3], summary, ""),
        (T.monthsummary, month, month_x, summary, ""),
        (T.dailystat, [*day, "status"], [*day_x, "f.status"], sums, ""),
        (T.monthstat, [*month, "status"], [*month_x, "f.status"], sums, ""),
        (T.monthdispute, [*month, "dispute_type"], [*month_x, "f.dispute_type"], [("opened", f"SUM({w})")], ""),
        (T.monthmerchant, [*month, "merchant_id"], [*month_x, "f.merchant_id"], n,
         "f.merchant_id IS NOT NULL"),
    ]
    for metric, column in METRICS:
        out.append((T.durationbucket, [*day, "metric", "minutes"], [*day_x, str(metric), f"f.{column}"], n,
                    f"f.{column} IS NOT NULL"))
        out.append((T.monthbucket, [*month, "metric", "minutes"], [*month_x, str(metric), f"f.{column}"], n,
                    f"f.{column} IS NOT NULL"))
    for product, dispute in TYPE_GROUPINGS:  # the filtered summaries: "" stands for every type
        types = [product, dispute]
        out += [
            (T.daytypesummary, day, [*day_x[:3], *types], summary, ""),
            (T.monthtypesummary, [*month, "product_type", "dispute_type"], [*month_x, *types], summary, ""),
            (T.monthtypemerchant, [*month, "product_type", "dispute_type", "merchant_id"],
             [*month_x, *types, "f.merchant_id"], n, "f.merchant_id IS NOT NULL"),
        ]
    if join:
        period_key = ["period_id", "organization_id", "platform_id"]
        period_x = [period, org, "f.platform_id"]
        out = [
            (T.periodstat, [*period_key, "status"], [*period_x, "f.status"], sums, ""),
            (T.perioddispute, [*period_key, "dispute_type"], [*period_x, "f.dispute_type"],
             [("opened", f"SUM({w})")], ""),
            (T.periodmerchant, [*period_key, "merchant_id"], [*period_x, "f.merchant_id"], n,
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


def _quoted(value: str) -> str:
    """A code value (from the enums, never from a request) as an SQL literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _fact_select_sql(where_case: str = "", where_escalation: str = "") -> str:
    c, e = case_columns("c"), escalation_columns("e")
    on_platform = f"{e.channel} = {_quoted(Channel.PLATFORM)}"
    # A real answer: an answer time, and not closed as "no response" (README, "Statistics").
    answered = f"{on_platform} AND {e.responded_at} IS NOT NULL AND {e.outcome} <> {_quoted(EscalationOutcome.NO_RESPONSE)}"
    # The level reached: the highest of the escalations and of the case status (escalation's own rule).
    by_status = (f"CASE {c.status} " + " ".join(f"WHEN {_quoted(status)} THEN {level}" for status, level
                                                in sorted(escalation_rules.LEVEL_OF_STATUS.items())) + " ELSE 0 END")
    return f"""
SELECT {c.id}, {c.organization}, {c.platform}, {c.merchant}, {dialect.local_day(c.created_at)},
    {c.product_type}, {c.dispute_type}, {c.status}, {c.outcome}, {c.amount_paid}, {c.amount_recovered},
    {c.consumer_rating},
    CASE WHEN {c.status} = {_quoted(Status.RESOLVED)} THEN {dialect.minutes(c.created_at, c.closed_at)} END,
    NULLIF({dialect.greatest(by_status, "COALESCE(x.max_level, 0)")}, 0),
    COALESCE(x.p_esc, 0) = 1, COALESCE(x.p_resp, 0) = 1, COALESCE(x.p_win, 0) = 1, x.p_minutes,
    {dialect.later(c.updated_at, "x.updated_at")}
FROM {CASE_TABLE} c
LEFT JOIN (
    SELECT {e.case} AS case_id,
        MAX({e.level}) AS max_level,
        MAX(CASE WHEN {on_platform} THEN 1 ELSE 0 END) AS p_esc,
        MAX(CASE WHEN {answered} THEN 1 ELSE 0 END) AS p_resp,
        MAX(CASE WHEN {answered} AND ({e.due_at} IS NULL OR {e.responded_at} <= {e.due_at}) THEN 1 ELSE 0 END)
            AS p_win,
        MIN(CASE WHEN {answered} THEN {dialect.minutes(e.submitted_at, e.responded_at)} END) AS p_minutes,
        MAX({e.updated_at}) AS updated_at
    FROM {ESCALATION_TABLE} e {where_escalation}
    GROUP BY {e.case}
) x ON x.case_id = {c.id}
{where_case}
"""


def _fact_insert_sql(where_case: str = "", where_escalation: str = "") -> str:
    return (f"INSERT INTO {T.casefact} ({', '.join(FACT_COLUMNS)}) "
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
INSERT INTO {T.periodduration} (period_id, organization_id, platform_id, metric, n, median, p90)
SELECT period_id, org, platform_id, {metric}, n, {", ".join(picks)}
FROM (
    SELECT period_id, org, platform_id, x,
        ROW_NUMBER() OVER (PARTITION BY period_id, org, platform_id ORDER BY x) - 1 AS rn,
        COUNT(*) OVER (PARTITION BY period_id, org, platform_id) AS n
    FROM (
        SELECT p.id AS period_id, {org} AS org, f.platform_id, f.{column} AS x
        FROM {T.casefact} f JOIN {T.statsperiod} p ON f.day >= p.first_day AND f.day <= p.last_day
        WHERE f.{column} IS NOT NULL AND {period_filter.format(metric=metric)}
    ) v
) r
WHERE {" OR ".join(wanted)}
GROUP BY period_id, org, platform_id, n
""")
    return statements


def _org_expr() -> str:
    return "0" if rules.scope() == "national" else "f.organization_id"


PERIOD_JOIN = f"JOIN {T.statsperiod} p ON f.day >= p.first_day AND f.day <= p.last_day"


def _period_fill(cursor: _Timed, period_filter: str, params: list) -> None:
    """The period tables of the periods matching `period_filter` (on `p`), computed from the facts."""
    org = _org_expr()
    for sql in _aggregate_sql(T.casefact, "1", False, PERIOD_JOIN, org, period_filter):
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
    cursor.execute(f"INSERT INTO {T.statsperiod} (first_day, last_day, rolling, scope) VALUES (%s, %s, %s, %s)",
                   [first_day, last_day, rolling, rules.scope()])
    cursor.execute(f"SELECT id FROM {T.statsperiod} WHERE first_day = %s AND last_day = %s AND scope = %s",
                   [first_day, last_day, rules.scope()])
    return cursor.fetchone()[0]


def _delete_periods(cursor: _Timed, where: str, params: list) -> None:
    ids = f"SELECT id FROM {T.statsperiod} WHERE {where}"
    for table in PERIOD_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE period_id IN ({ids})", params)
    cursor.execute(f"DELETE FROM {T.statsperiod} WHERE {where}", params)


def _ensure_periods(cursor: _Timed) -> int:
    """Add this year's period and today's rolling year when missing (once a day; computed from the facts)
    and drop the rolling years that ended before today. Returns how many periods were added."""
    today = timezone.localdate()
    _delete_periods(cursor, "rolling = %s AND last_day <> %s", [True, today])
    added = 0
    for first_day, last_day, rolling in _standard_periods(today, today, today):
        cursor.execute(f"SELECT 1 FROM {T.statsperiod} WHERE first_day = %s AND last_day = %s AND scope = %s",
                       [first_day, last_day, rules.scope()])
        if cursor.fetchone() is None:
            period_id = _insert_period(cursor, first_day, last_day, rolling)
            _period_fill(cursor, "p.id = %s", [period_id])
            added += 1
    return added


def _state() -> RefreshState:
    RefreshState.objects.get_or_create(pk=1)
    state = RefreshState.objects.select_for_update().get(pk=1)
    dialect.sort_memory(64)  # the sorts of the percentiles stay in memory (this transaction only)
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


def stats_rebuild() -> dict:
    """Recompute every summary table from the cases and escalations (nightly; idempotent)."""
    started = timezone.now()
    with transaction.atomic():
        state = _state()
        with connection.cursor() as raw:
            cursor = _Timed(raw)
            for table in (T.casefact, *SUMMARY_TABLES, *PERIOD_TABLES, T.statsperiod):
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute(_fact_insert_sql())
            facts = cursor.rowcount
            for sql in _aggregate_sql(T.casefact, "1", upsert=False):
                cursor.execute(sql)
            cursor.execute(f"SELECT MIN(day), MAX(day) FROM {T.casefact}")
            first, last = (_as_date(d) for d in cursor.fetchone())
            for first_day, last_day, rolling in _standard_periods(timezone.localdate(), first, last):
                _insert_period(cursor, first_day, last_day, rolling)
            _period_fill(cursor, "1 = 1", [])
        state.watermark = started
        state.last_rebuild_at = started
        state.save()
        answers.renew()
    dialect.vacuum_analyze((T.casefact, *SUMMARY_TABLES, *PERIOD_TABLES))
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
            probe.execute(f"SELECT COUNT(*) FROM {T.statsperiod} WHERE scope <> %s", [rules.scope()])
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
            answers.renew()
            return {"cases": changed, "percentiles": duration_groups, "periods_added": periods_added}
    return {"rebuilt": stats_rebuild()}


def _analyze(cursor: _Timed, table: str) -> None:
    """Fresh planner statistics for a work table just filled: without them PostgreSQL assumes whatever the
    table held at the last autovacuum (often nothing) and may scan every case or fact instead of using the
    indexes (a refresh of 1,000 cases grew from 0.3 s to 4.7 s). ANALYZE runs inside the transaction."""
    dialect.analyze(cursor, table)


def _apply_changes(cursor: _Timed, since: datetime) -> tuple[int, int]:
    cursor.execute(f"DELETE FROM {T.dirtycase}")
    cursor.execute(f"DELETE FROM {T.deltafact}")
    cursor.execute(f"DELETE FROM {T.dirtyduration}")
    c, e = case_columns("c"), escalation_columns("e")
    cursor.execute(
        f"INSERT INTO {T.dirtycase} (case_id) SELECT {c.id} FROM {CASE_TABLE} c WHERE {c.updated_at} > %s "
        f"UNION SELECT {e.case} FROM {ESCALATION_TABLE} e WHERE {e.updated_at} > %s",
        [since, since],
    )
    _analyze(cursor, T.dirtycase)
    # Seen in an earlier run and unchanged since: the fact's stamp equals the rows' latest updated_at.
    cursor.execute(f"""
        DELETE FROM {T.dirtycase} WHERE case_id IN (
            SELECT f.case_id FROM {T.casefact} f
            JOIN {T.dirtycase} d ON d.case_id = f.case_id
            JOIN {CASE_TABLE} c ON {c.id} = f.case_id
            WHERE f.source_updated_at = {dialect.later(c.updated_at,
                f"(SELECT MAX({e.updated_at}) FROM {ESCALATION_TABLE} e WHERE {e.case} = {c.id})")})""")
    cursor.execute(f"SELECT COUNT(*) FROM {T.dirtycase}")
    changed = cursor.fetchone()[0]
    if not changed:
        return 0, 0
    _analyze(cursor, T.dirtycase)
    dirty = f"IN (SELECT case_id FROM {T.dirtycase})"
    columns = ", ".join(FACT_COLUMNS)
    cursor.execute(f"INSERT INTO {T.deltafact} (sign, {columns}) "
                   f"SELECT -1, {columns} FROM {T.casefact} WHERE case_id {dirty}")
    cursor.execute(f"DELETE FROM {T.casefact} WHERE case_id {dirty}")
    cursor.execute(_fact_insert_sql(f"WHERE {c.id} {dirty}", f"WHERE {e.case} {dirty}"))
    cursor.execute(f"INSERT INTO {T.deltafact} (sign, {columns}) "
                   f"SELECT 1, {columns} FROM {T.casefact} WHERE case_id {dirty}")
    # A case whose figures did not change (only its stamp did) cancels out: drop both of its rows.
    _analyze(cursor, T.deltafact)
    same = ", ".join(c for c in FACT_COLUMNS if c != "source_updated_at")
    cursor.execute(f"DELETE FROM {T.deltafact} WHERE case_id IN (SELECT case_id FROM {T.deltafact} "
                   f"GROUP BY {same} HAVING COUNT(*) = 2 AND SUM(sign) = 0)")
    # Additive figures: add the signed sums, then drop the rows that fell to zero.
    org = _org_expr()
    statements = (_aggregate_sql(T.deltafact, "f.sign", upsert=True)
                  + _aggregate_sql(T.deltafact, "f.sign", True, PERIOD_JOIN, org))
    for sql in statements:
        cursor.execute(sql)
    for table, keys, key_x, values, _c in (_aggregates("f.sign") + _aggregates("f.sign", PERIOD_JOIN, org)):
        count = values[0][0]
        match = " AND ".join(f"{table}.{k} = {x}" for k, x in zip(keys, key_x, strict=True))
        join = PERIOD_JOIN if table in PERIOD_TABLES else ""
        cursor.execute(f"DELETE FROM {table} WHERE {count} = 0 AND EXISTS "
                       f"(SELECT 1 FROM {T.deltafact} f {join} WHERE {match})")
    # Percentiles are not additive: recompute those of the periods whose values changed.
    for metric, column in METRICS:
        cursor.execute(f"""INSERT INTO {T.dirtyduration} (period_id, organization_id, platform_id, metric)
            SELECT DISTINCT p.id, {org}, f.platform_id, {metric} FROM {T.deltafact} f {PERIOD_JOIN}
            WHERE f.{column} IS NOT NULL""")
    cursor.execute(f"SELECT COUNT(*) FROM {T.dirtyduration}")
    duration_groups = cursor.fetchone()[0]
    if duration_groups:
        _analyze(cursor, T.dirtyduration)
        cursor.execute(f"DELETE FROM {T.periodduration} WHERE EXISTS (SELECT 1 FROM {T.dirtyduration} d "
                       f"WHERE d.period_id = {T.periodduration}.period_id "
                       f"AND d.organization_id = {T.periodduration}.organization_id "
                       f"AND d.platform_id = {T.periodduration}.platform_id "
                       f"AND d.metric = {T.periodduration}.metric)")
        dirty_duration = (f"EXISTS (SELECT 1 FROM {T.dirtyduration} d WHERE d.period_id = p.id "
                          f"AND d.organization_id = {org} AND d.platform_id = f.platform_id "
                          "AND d.metric = {metric})")
        for sql in _duration_sql(dirty_duration, org):
            cursor.execute(sql)
    for table in (T.dirtycase, T.deltafact, T.dirtyduration):
        cursor.execute(f"DELETE FROM {table}")
    return changed, duration_groups
