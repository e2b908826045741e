# ruff: noqa: S608 - the SQL is built from constants; values always go through placeholders
"""Keeping the summary tables current: a full rebuild and an incremental refresh, both idempotent.

Both run in one transaction under the row lock of `RefreshState`, so two runs never interleave and
a failed run leaves the tables as they were. The SQL is plain and portable (PostgreSQL and SQLite);
only "local date of a timestamp" and "whole minutes between two timestamps" differ per database.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import RefreshState

logger = logging.getLogger(__name__)

REFRESH_OVERLAP = timedelta(minutes=10)


def _local_day(col: str) -> str:
    if connection.vendor == "postgresql":
        return f"(({col}) AT TIME ZONE '{settings.TIME_ZONE}')::date"
    offset = timezone.now().astimezone(timezone.get_default_timezone()).utcoffset()
    return f"date({col}, '{int(offset.total_seconds() // 60):+d} minutes')"


def _minutes(start: str, end: str) -> str:
    """Whole minutes from start to end (floor), NULL when either is missing or end < start."""
    if connection.vendor == "postgresql":
        span = f"FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 60)::integer"
    else:
        span = f"CAST((julianday({end}) - julianday({start})) * 1440.0 + 0.0001 AS INTEGER)"
    return f"CASE WHEN {start} IS NOT NULL AND {end} IS NOT NULL AND {end} >= {start} THEN {span} END"


def _month(col: str, plus_one: bool = False) -> str:
    if connection.vendor == "postgresql":
        return f"(date_trunc('month', {col}){' + interval ' + chr(39) + '1 month' + chr(39) if plus_one else ''})::date"
    return f"date({col}, 'start of month'{', ' + chr(39) + '+1 month' + chr(39) if plus_one else ''})"


MONTH_SUMS = (
    "COUNT(*), SUM(CASE WHEN f.outcome = 'favourable' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN f.outcome = 'partial' THEN 1 ELSE 0 END), SUM(CASE WHEN f.outcome = 'unfavourable' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN f.platform_escalated THEN 1 ELSE 0 END), SUM(CASE WHEN f.platform_responded THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN f.platform_in_window THEN 1 ELSE 0 END), SUM(f.amount_paid), COALESCE(SUM(f.amount_recovered), 0), "
    "COALESCE(SUM(f.consumer_rating), 0), COUNT(f.consumer_rating), "
    "SUM(CASE WHEN f.max_level = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN f.max_level = 2 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN f.max_level = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN f.max_level = 4 THEN 1 ELSE 0 END)"
)
MONTH_TABLES = ("stats_monthstat", "stats_monthdispute", "stats_monthmerchant", "stats_monthbucket")


def _month_insert_sql(join: str = "") -> list[str]:
    """The monthly rollups from the fact table (`join` restricts them to the dirty months)."""
    m = _month("f.day")
    keys = f"f.organization_id, f.platform_id, {m}"
    sql = [
        f"""INSERT INTO stats_monthstat (organization_id, platform_id, month, status, opened, favourable, partial,
            unfavourable, platform_escalated, platform_responded, platform_in_window, amount_paid, amount_recovered,
            rating_sum, rating_count, level_1, level_2, level_3, level_4)
            SELECT {keys}, f.status, {MONTH_SUMS} FROM stats_casefact f {join} GROUP BY {keys}, f.status""",
        f"""INSERT INTO stats_monthdispute (organization_id, platform_id, month, dispute_type, opened)
            SELECT {keys}, f.dispute_type, COUNT(*) FROM stats_casefact f {join} GROUP BY {keys}, f.dispute_type""",
        f"""INSERT INTO stats_monthmerchant (organization_id, platform_id, month, merchant_id, n)
            SELECT {keys}, f.merchant_id, COUNT(*) FROM stats_casefact f {join}
            WHERE f.merchant_id IS NOT NULL GROUP BY {keys}, f.merchant_id""",
    ]
    for metric, column in ((1, "platform_response_minutes"), (2, "resolution_minutes")):
        sql.append(f"""INSERT INTO stats_monthbucket (organization_id, platform_id, month, metric, minutes, n)
            SELECT {keys}, {metric}, f.{column}, COUNT(*) FROM stats_casefact f {join}
            WHERE f.{column} IS NOT NULL GROUP BY {keys}, f.{column}""")
    return sql  # noqa: S608 - fixed SQL


def _fact_insert_sql(where_case: str = "", where_escalation: str = "") -> str:
    on_platform = "e.channel = 'platform'"
    answered = f"{on_platform} AND e.responded_at IS NOT NULL"
    return f"""
INSERT INTO stats_casefact (case_id, organization_id, platform_id, merchant_id, day, product_type,
    dispute_type, status, outcome, amount_paid, amount_recovered, consumer_rating, resolution_minutes,
    max_level, platform_escalated, platform_responded, platform_in_window, platform_response_minutes)
SELECT c.id, c.organization_id, c.platform_id, c.merchant_id, {_local_day("c.created_at")},
    c.product_type, c.dispute_type, c.status, c.outcome, c.amount_paid, c.amount_recovered,
    c.consumer_rating,
    CASE WHEN c.status = 'resolved' THEN {_minutes("c.created_at", "c.closed_at")} END,
    x.max_level,
    COALESCE(x.p_esc, 0) = 1, COALESCE(x.p_resp, 0) = 1, COALESCE(x.p_win, 0) = 1, x.p_minutes
FROM cases_case c
LEFT JOIN (
    SELECT e.case_id,
        MAX(e.level) AS max_level,
        MAX(CASE WHEN {on_platform} THEN 1 ELSE 0 END) AS p_esc,
        MAX(CASE WHEN {answered} THEN 1 ELSE 0 END) AS p_resp,
        MAX(CASE WHEN {answered} AND (e.due_at IS NULL OR e.responded_at <= e.due_at) THEN 1 ELSE 0 END) AS p_win,
        MIN(CASE WHEN {answered} THEN {_minutes("e.submitted_at", "e.responded_at")} END) AS p_minutes
    FROM escalation_escalation e {where_escalation}
    GROUP BY e.case_id
) x ON x.case_id = c.id
{where_case}
"""  # noqa: S608 - fixed SQL, values go through placeholders


def _aggregate_insert_sql(where: str = "") -> list[str]:
    daily = f"""
INSERT INTO stats_dailystat (organization_id, platform_id, day, product_type, dispute_type, status, opened,
    favourable, partial, unfavourable, platform_escalated, platform_responded, platform_in_window,
    amount_paid, amount_recovered, rating_sum, rating_count, level_1, level_2, level_3, level_4)
SELECT f.organization_id, f.platform_id, f.day, f.product_type, f.dispute_type, f.status, COUNT(*),
    SUM(CASE WHEN f.outcome = 'favourable' THEN 1 ELSE 0 END),
    SUM(CASE WHEN f.outcome = 'partial' THEN 1 ELSE 0 END),
    SUM(CASE WHEN f.outcome = 'unfavourable' THEN 1 ELSE 0 END),
    SUM(CASE WHEN f.platform_escalated THEN 1 ELSE 0 END),
    SUM(CASE WHEN f.platform_responded THEN 1 ELSE 0 END),
    SUM(CASE WHEN f.platform_in_window THEN 1 ELSE 0 END),
    SUM(f.amount_paid), COALESCE(SUM(f.amount_recovered), 0),
    COALESCE(SUM(f.consumer_rating), 0), COUNT(f.consumer_rating),
    SUM(CASE WHEN f.max_level = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN f.max_level = 2 THEN 1 ELSE 0 END),
    SUM(CASE WHEN f.max_level = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN f.max_level = 4 THEN 1 ELSE 0 END)
FROM stats_casefact f {where}
GROUP BY f.organization_id, f.platform_id, f.day, f.product_type, f.dispute_type, f.status
"""  # noqa: S608
    buckets = [
        f"""
INSERT INTO stats_durationbucket (organization_id, platform_id, day, product_type, dispute_type, metric, minutes, n)
SELECT f.organization_id, f.platform_id, f.day, f.product_type, f.dispute_type, {metric}, f.{column}, COUNT(*)
FROM stats_casefact f {where} {"AND" if where else "WHERE"} f.{column} IS NOT NULL
GROUP BY f.organization_id, f.platform_id, f.day, f.product_type, f.dispute_type, f.{column}
"""  # noqa: S608
        for metric, column in ((1, "platform_response_minutes"), (2, "resolution_minutes"))
    ]
    return [daily, *buckets]


def _state() -> RefreshState:
    RefreshState.objects.get_or_create(pk=1)
    return RefreshState.objects.select_for_update().get(pk=1)


def stats_rebuild() -> dict:
    """Recompute every summary table from the cases and escalations (nightly; idempotent)."""
    started = timezone.now()
    with transaction.atomic():
        state = _state()
        with connection.cursor() as cursor:
            for table in ("stats_durationbucket", "stats_dailystat", "stats_casefact", *MONTH_TABLES):
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            cursor.execute(_fact_insert_sql())
            facts = cursor.rowcount
            for sql in _aggregate_insert_sql() + _month_insert_sql():
                cursor.execute(sql)
        state.watermark = started
        state.last_rebuild_at = started
        state.save()
    if connection.vendor == "postgresql" and connection.get_autocommit():
        with connection.cursor() as cursor:  # fresh statistics and visibility map for index-only scans
            cursor.execute("VACUUM ANALYZE stats_casefact, stats_dailystat, stats_durationbucket, "
                           + ", ".join(MONTH_TABLES))
    return {"cases": facts}


def stats_refresh() -> dict:
    """Recompute only what changed since the last run: the cases touched (case or escalation updated
    after the watermark, with an overlap for transactions that committed late) and every
    (platform, day) group they were or are in. Without a watermark it is a full rebuild."""
    started = timezone.now()
    with transaction.atomic():
        state = _state()
        if state.watermark is not None:
            since = state.watermark - REFRESH_OVERLAP
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM stats_dirtycase")
                cursor.execute("DELETE FROM stats_dirtygroup")
                cursor.execute(
                    "INSERT INTO stats_dirtycase (case_id) SELECT id FROM cases_case WHERE updated_at > %s "
                    "UNION SELECT case_id FROM escalation_escalation WHERE updated_at > %s",
                    [since, since],
                )
                changed = cursor.rowcount
                dirty_cases = "IN (SELECT case_id FROM stats_dirtycase)"
                group_of = "INSERT INTO stats_dirtygroup (platform_id, day) SELECT DISTINCT platform_id, day " \
                           f"FROM stats_casefact WHERE case_id {dirty_cases}"  # noqa: S608
                cursor.execute(group_of)  # the groups the changed cases were in
                cursor.execute(f"DELETE FROM stats_casefact WHERE case_id {dirty_cases}")  # noqa: S608
                cursor.execute(_fact_insert_sql(f"WHERE c.id {dirty_cases}", f"WHERE e.case_id {dirty_cases}"))
                cursor.execute(group_of)  # and the groups they are in now
                in_dirty = ("WHERE EXISTS (SELECT 1 FROM stats_dirtygroup g "
                            "WHERE g.platform_id = {t}.platform_id AND g.day = {t}.day)")
                for table in ("stats_dailystat", "stats_durationbucket"):
                    cursor.execute(f"DELETE FROM {table} {in_dirty.format(t=table)}")  # noqa: S608
                for sql in _aggregate_insert_sql(in_dirty.format(t="f")):
                    cursor.execute(sql)
                cursor.execute("DELETE FROM stats_dirtymonth")
                cursor.execute(
                    "INSERT INTO stats_dirtymonth (platform_id, month, month_end) "  # noqa: S608
                    f"SELECT DISTINCT platform_id, {_month('day')}, {_month('day', plus_one=True)} FROM stats_dirtygroup")
                for table in MONTH_TABLES:
                    cursor.execute(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM stats_dirtymonth d "  # noqa: S608
                                   f"WHERE d.platform_id = {table}.platform_id AND d.month = {table}.month)")
                join = ("JOIN stats_dirtymonth d ON d.platform_id = f.platform_id "
                        "AND f.day >= d.month AND f.day < d.month_end")
                for sql in _month_insert_sql(join):
                    cursor.execute(sql)
                cursor.execute("DELETE FROM stats_dirtymonth")
                cursor.execute("SELECT COUNT(*) FROM (SELECT DISTINCT platform_id, day FROM stats_dirtygroup) d")
                groups = cursor.fetchone()[0]
                cursor.execute("DELETE FROM stats_dirtycase")
                cursor.execute("DELETE FROM stats_dirtygroup")
            state.watermark = started
            state.last_refresh_at = started
            state.save()
            return {"cases": changed, "groups": groups}
    return {"rebuilt": stats_rebuild()}
