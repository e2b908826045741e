"""List rows rendered as JSON by PostgreSQL, for the lists partners poll and staff page through all day.

A list page through DRF reads ~40 columns of three tables into model instances, converts every value
into a Python object and renders each of them back to text: most of a page's server time. Here the page's
own statement returns each row already as the JSON the serializer would have produced, and the response
joins those texts into the list envelope. The SQL is derived from the serializer's own fields (so a field
added to the serializer is added here too, or the derivation refuses it), for:

- model columns of text, choices, booleans and integers: the column;
- primary keys of relations: the `_id` column;
- decimals (numeric(12, 2)): their text, which already has the field's two places ("100.00");
- datetimes: ISO 8601 in the current time zone exactly as DRF writes them (microseconds only when
  non-zero, the offset as +08:00, "Z" for UTC);
- anything else: an SQL expression the caller names (`extra`), else ValueError.

Tests render the same rows both ways and compare them (`tests/cases/test_rendered_rows.py`).
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, models
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable, QuerySet
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework import relations

_cache: dict[tuple[Any, ...], str] = {}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def datetime_sql(column: str, tz_name: str) -> str:
    """`column` (timestamptz) as DRF renders it in `tz_name`: 2026-05-01T10:20:30.123456+08:00 (no fraction
    when it is zero; "Z" for a zero offset). Since the zone's last change of offset (Asia/Shanghai: summer
    time ended in 1991), one to_char with the offset as a literal; before it, the offset computed per value."""
    fixed = _fixed_offset(tz_name)
    general = _datetime_sql_general(column, tz_name)
    if fixed is None:
        return general
    offset, since = fixed
    hours, minutes = divmod(abs(offset) // 60, 60)
    suffix = "Z" if offset == 0 else f"{'-' if offset < 0 else '+'}{hours:02d}:{minutes:02d}"
    fast = (f"replace(to_char(({column} AT TIME ZONE 'UTC') + interval '{offset} seconds', "
            f"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"{suffix}\"'), '.000000{suffix[0]}', '{suffix[0]}')")
    return (f"CASE WHEN {column} >= '{since.isoformat()}'::timestamptz THEN {fast} "
            f"ELSE {general} END")


def _datetime_sql_general(column: str, tz_name: str) -> str:
    tz = _literal(tz_name)
    local = f"({column} AT TIME ZONE {tz})"
    offset = f"extract(epoch FROM {local} - ({column} AT TIME ZONE 'UTC'))::int"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN (extract(microseconds FROM {local})::bigint %% 1000000) <> 0 "
        f"THEN to_char({local}, '.US') ELSE '' END || "
        f"CASE WHEN {offset} = 0 THEN 'Z' ELSE "
        f"(CASE WHEN {offset} < 0 THEN '-' ELSE '+' END) || "
        f"to_char(make_interval(secs => abs({offset})), 'HH24:MI') END END"
    )


@functools.cache
def _fixed_offset(tz_name: str) -> tuple[int, datetime] | None:
    """(offset in seconds, the instant from which the zone keeps it through 2100), or None when the zone
    still changes its offset (summer time) or has an offset of seconds. Probed daily back from 2100 to 1900."""
    zone = zoneinfo.ZoneInfo(tz_name)
    end = datetime(2100, 1, 1, tzinfo=UTC)
    final = end.astimezone(zone).utcoffset()
    if final is None or final.total_seconds() % 60:
        return None
    probe = end
    step = timedelta(days=1)
    start = datetime(1900, 1, 1, tzinfo=UTC)
    while probe > start:
        previous = probe - step
        if previous.astimezone(zone).utcoffset() != final:
            break
        probe = previous
    if probe >= datetime(2090, 1, 1, tzinfo=UTC):
        return None
    return int(final.total_seconds()), probe


def _column_sql(field, model, table: str, tz_name: str) -> str | None:
    if isinstance(field, relations.PrimaryKeyRelatedField) and len(field.source_attrs) == 1:
        model_field = model._meta.get_field(field.source_attrs[0])
        return f'"{table}"."{model_field.column}"'
    if len(field.source_attrs) != 1:
        return None
    try:
        model_field = model._meta.get_field(field.source_attrs[0])
    except Exception:  # noqa: BLE001 - not a column: the caller must name it
        return None
    if not getattr(model_field, "concrete", False) or model_field.is_relation:
        return None
    column = f'"{table}"."{model_field.column}"'
    if isinstance(field, drf_fields.DateTimeField) and isinstance(model_field, models.DateTimeField):
        return datetime_sql(column, tz_name)
    if isinstance(field, drf_fields.DecimalField) and isinstance(model_field, models.DecimalField):
        if model_field.decimal_places != field.decimal_places:
            return None
        return f"({column})::text"
    if isinstance(field, drf_fields.ChoiceField | drf_fields.CharField | drf_fields.BooleanField
                  | drf_fields.IntegerField) and not isinstance(field, drf_fields.MultipleChoiceField):
        return column
    return None


def row_json_sql(serializer_class, *, extra: dict[str, str]) -> str:
    """The SQL of one JSON object per row of the serializer's model, keys in the serializer's order.
    `extra`: SQL for the fields that are not plain columns (nested objects, names from other tables)."""
    tz_name = timezone.get_current_timezone_name()
    key = (serializer_class, tz_name, tuple(sorted(extra.items())))
    sql = _cache.get(key)
    if sql is not None:
        return sql
    serializer = serializer_class()
    model = serializer.Meta.model
    table = model._meta.db_table
    pairs = []
    for name, field in serializer.fields.items():
        if field.write_only:
            continue
        expression = extra.get(name) or _column_sql(field, model, table, tz_name)
        if expression is None:
            raise ValueError(f"{serializer_class.__name__}.{name}: no SQL rendering; name it in `extra`")
        pairs.append(f"{_literal(name)}, {expression}")
    if len(pairs) > 50:  # json_build_object takes at most 100 arguments
        raise ValueError(f"{serializer_class.__name__}: more than 50 fields to render in one object")
    sql = f"json_build_object({', '.join(pairs)})::text"
    _cache[key] = sql
    return sql


@functools.cache
def _prepared_cursor_class():
    """Django's server-binding cursor, asking psycopg to prepare every statement it runs (made once; the
    import needs psycopg, which only PostgreSQL deployments have)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class Prepared(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)  # type: ignore[misc]

    return Prepared


def _prepared_cursor(connection):
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        # Django turns psycopg's preparing off; on again, but only for what asks for it (prepare=True):
        # Django's own cursors bind on the client and never prepare.
        connection.connection.prepare_threshold = 2**31 - 1
    raw: Any = _prepared_cursor_class()(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def execute_prepared(connection, sql: str, params: list | tuple) -> None:
    """Run one statement that returns nothing (an INSERT written on every request) as a prepared
    statement: parsed and planned once per database connection. PostgreSQL only."""
    with _prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)


def fetch_prepared(queryset, *, prepare: bool = True) -> list[tuple]:
    """The rows of `queryset` (a values_list), on PostgreSQL through a prepared statement: a list statement
    with its rendering is planned once per database connection instead of on every request (planning it
    cost about as much as running it: 0.8 of 1.6 ms at 1,000,000 cases). Parameters are bound by the
    server, so the text is the same for every organization and filter value. Not for a search
    (`prepare=False`): after five runs PostgreSQL may switch a prepared statement to a generic plan, which for
    `LIKE $1` cannot use the trigram index (a search went from 8 ms to 1 s). A pooler in transaction mode needs
    PgBouncer 1.21+ with max_prepared_statements (README "Lists at national scale")."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or not prepare:
        return list(queryset)
    sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    with _prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def row_json(serializer_class, *, extra: dict[str, str]) -> RawSQL:
    return RawSQL(row_json_sql(serializer_class, extra=extra), [],  # noqa: S611 - built from model metadata
                  output_field=models.TextField())


class _PreparedModelIterable(ModelIterable):
    """Model instances of a query run as a prepared statement (PostgreSQL): for a read done on every request
    (a case's detail), whose planning cost several times its running."""

    def __iter__(self):
        query = self.queryset.query
        connection = connections[self.queryset.db]
        if connection.vendor == "postgresql":
            make_compiler = query.get_compiler

            def get_compiler(*args, **kwargs):
                compiler = make_compiler(*args, **kwargs)

                def execute_sql(*_args, **_kwargs):
                    sql, params = compiler.as_sql()  # also fills what results_iter reads (select, converters)
                    with _prepared_cursor(connection) as cursor:
                        cursor.execute(sql, params)
                        return [cursor.fetchall()]

                compiler.execute_sql = execute_sql
                return compiler

            query.get_compiler = get_compiler  # type: ignore[method-assign]  # this clone's query only
            try:
                yield from super().__iter__()
            finally:
                del query.get_compiler
            return
        yield from super().__iter__()


def prepared(queryset: QuerySet) -> QuerySet:
    """`queryset`, whose rows are read by a prepared statement on PostgreSQL (elsewhere unchanged)."""
    clone = queryset.all()
    clone._iterable_class = _PreparedModelIterable
    return clone
