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

from typing import Any

from django.db import models
from django.db.models.expressions import RawSQL
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework import relations

_cache: dict[tuple[Any, ...], str] = {}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def datetime_sql(column: str, tz_name: str) -> str:
    """`column` (timestamptz) as DRF renders it in `tz_name`: 2026-05-01T10:20:30.123456+08:00."""
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


def row_json(serializer_class, *, extra: dict[str, str]) -> RawSQL:
    return RawSQL(row_json_sql(serializer_class, extra=extra), [],  # noqa: S611 - built from model metadata
                  output_field=models.TextField())
