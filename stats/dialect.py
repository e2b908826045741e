"""Everything the statistics SQL says differently on PostgreSQL and on SQLite (the embedded default), in one
place: date arithmetic, the larger of two values, array parameters, planner statistics, the memory of one
transaction's sorts, and the snapshot a read runs in (`is_postgresql()` for the strategies that differ)."""

from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def local_day(col: str) -> str:
    """The local calendar day of a timestamp column."""
    if is_postgresql():
        return f"(({col}) AT TIME ZONE '{settings.TIME_ZONE}')::date"
    offset = timezone.now().astimezone(timezone.get_default_timezone()).utcoffset() or timedelta()
    return f"date({col}, '{int(offset.total_seconds() // 60):+d} minutes')"


def minutes(start: str, end: str) -> str:
    """Whole minutes from start to end (floor), NULL when either is missing or end < start."""
    if is_postgresql():
        span = f"FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 60)::integer"
    else:
        span = f"CAST((julianday({end}) - julianday({start})) * 1440.0 + 0.0001 AS INTEGER)"
    return f"CASE WHEN {start} IS NOT NULL AND {end} IS NOT NULL AND {end} >= {start} THEN {span} END"


def greatest(a: str, b: str) -> str:
    fn = "GREATEST" if is_postgresql() else "MAX"
    return f"{fn}({a}, {b})"


def later(a: str, b: str) -> str:
    """The later of two timestamps, `a` when `b` is NULL."""
    return greatest(a, f"COALESCE({b}, {a})")


def month(col: str) -> str:
    """The first day of the month of a date column."""
    if is_postgresql():
        return f"(date_trunc('month', {col}))::date"
    return f"date({col}, 'start of month')"


def param(value):
    """A date as the database compares it (SQLite stores ISO text)."""
    return value.isoformat() if isinstance(value, date) and connection.vendor == "sqlite" else value


def array_literal(values) -> str:
    """Integers as one PostgreSQL array literal ('{1,2,3}', cast in the SQL): psycopg's list adapter checks
    every element with a regular expression, thousands per request for the CSV of every platform."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def id_in(column: str, ids: list[int]) -> tuple[str, list]:
    """`column` among the ids: one array parameter on PostgreSQL (a CSV of every platform would otherwise send
    and parse hundreds of placeholders per query), an IN list elsewhere."""
    if is_postgresql():
        return f"{column} = ANY(%s::bigint[])", [array_literal(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def analyze(cursor, table: str) -> None:
    """Fresh planner statistics for a work table just filled, inside the transaction (PostgreSQL)."""
    if is_postgresql():
        cursor.execute(f"ANALYZE {table}")


def vacuum_analyze(tables) -> None:
    """Fresh statistics and visibility map for index-only scans, outside a transaction (PostgreSQL)."""
    if is_postgresql() and connection.get_autocommit():
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE " + ", ".join(tables))


def sort_memory(megabytes: int) -> None:
    """Sorts of this transaction stay in memory (the percentiles), PostgreSQL only."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{int(megabytes)}MB'")
