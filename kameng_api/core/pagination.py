"""List pagination: `?page=` (numbered pages) and `?cursor=` (keyset), with a `count` that never scans
every row.

- `?page=N&page_size=M` works as it always did. Deep pages read only the ids of the page from the
  list's index (a "deferred join"), then the page's rows by primary key.
- `?cursor=` pages by position in the list order (keyset): `?cursor=` with an empty value starts at the
  top, the `next`/`previous` links carry opaque cursors. Rows added or removed while a client pages do not
  shift it: no row is returned twice and none is skipped. The cost of a page does not grow with depth.
- `count` is exact up to `KAMENG_LIST_COUNT_EXACT_UP_TO` matching rows (counted with a LIMIT, so at most
  that many index entries are read); above it, PostgreSQL's planner estimate is given (never below the
  bound) and `count_exact` is false. SQLite, which has no estimate, gives a full count, kept like the
  estimate for KAMENG_LIST_COUNT_ESTIMATE_TTL seconds (so it may be that old; `count_exact` false).
"""

import base64
import binascii
import json
import time
from collections import OrderedDict

from django.conf import settings
from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination, _positive_int
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

CURSOR_PARAM = "cursor"
RENDERED_ROW = "_km_rendered_row"


class _Row(dict):
    """A fetched row of a rendered page: its values by name, also as attributes (the count, the cursor's
    columns)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


MAX_PAGE = 10**9


def encode_cursor(values: list, *, reverse: bool) -> str:
    """An opaque token for a position in a list: the ordering values of the row it follows."""
    payload: dict[str, object] = {"v": [v.isoformat() if hasattr(v, "isoformat") else str(v) if v is not None else None
                     for v in values]}
    if reverse:
        payload["r"] = 1
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[list, bool]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        values = payload["v"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError
        return values, bool(payload.get("r"))
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise _invalid_cursor() from None


def _invalid_cursor():
    return ValidationError({CURSOR_PARAM: [_("Invalid cursor: use the next or previous link of a list.")]},
                           code="invalid_cursor")


def list_ordering(queryset: QuerySet) -> list[tuple[str, bool]] | None:
    """The list's order as (concrete local field name, descending), ending in the primary key so that it
    is total; None when the order is not made of the model's own non-null columns (no keyset then)."""
    model = queryset.model
    names = list(queryset.query.order_by) or list(model._meta.ordering)
    ordering = []
    for name in names:
        if not isinstance(name, str):
            return None
        descending = name.startswith("-")
        field_name = name.lstrip("-")
        if field_name == "pk":
            field_name = model._meta.pk.name
        try:
            field = model._meta.get_field(field_name)
        except Exception:  # noqa: BLE001 - a relation path or an annotation
            return None
        if not getattr(field, "concrete", False) or field.null or getattr(field, "many_to_many", False):
            return None
        ordering.append((field.attname, descending))
        if field.primary_key:
            return ordering
    return [*ordering, (model._meta.pk.attname, ordering[-1][1] if ordering else False)]


COUNT_ANNOTATION = "_km_bounded_count"
_estimates: dict = {}


def _matching_ids_sql(queryset: QuerySet, compiled: tuple[str, tuple] | None = None) -> tuple[str, tuple]:
    """The SQL of the ids the list's filters match, unordered: compiled once per request and shared by the
    bounded count and the estimate's key."""
    if compiled is not None:
        return compiled
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return sql, tuple(params)


def bounded_count_sql(queryset: QuerySet, limit: int, compiled: tuple[str, tuple] | None = None) -> RawSQL:
    """COUNT(*) of at most `limit` + 1 matching rows, as an expression the page's own query carries
    (one statement for the page and its count)."""
    sql, params = _matching_ids_sql(queryset, compiled)
    return RawSQL(f"SELECT COUNT(*) FROM ({sql} LIMIT {int(limit) + 1}) km_bounded",  # noqa: S608, S611
                  params)  # Django-compiled SQL


def count_bounded(queryset: QuerySet, limit: int, counted: int | None = None,
                  compiled: tuple[str, tuple] | None = None) -> tuple[int, bool]:
    """(count, exact). `counted` is the bounded count when the page's query already brought it."""
    if counted is None:
        counted = queryset.order_by()[: limit + 1].count()
    if counted <= limit:
        return counted, True
    return max(limit + 1, _estimate(connections[queryset.db], queryset, compiled)), False


def _estimate_key(connection, queryset: QuerySet, compiled: tuple[str, tuple] | None = None) -> tuple:
    sql, params = _matching_ids_sql(queryset, compiled)
    return (connection.alias, sql, tuple(str(p) for p in params))


def kept_estimate(queryset: QuerySet, compiled: tuple[str, tuple] | None = None) -> int | None:
    """The estimate kept for this list, if a request of the last KAMENG_LIST_COUNT_ESTIMATE_TTL seconds
    found more matching rows than the bound and the estimate is above it too: the page is then read
    without its bounded count. An estimate under the bound is not trusted: such a list is counted."""
    cached = _estimates.get(_estimate_key(connections[queryset.db], queryset, compiled))
    limit = getattr(settings, "KAMENG_LIST_COUNT_EXACT_UP_TO", 1000)
    if cached is not None and cached[0] > time.monotonic() and cached[1] > limit:
        return cached[1]
    return None


def _estimate(connection, queryset: QuerySet, compiled: tuple[str, tuple] | None = None) -> int:
    """PostgreSQL's row estimate for the list's query; SQLite, which has none, counts. Either is kept
    KAMENG_LIST_COUNT_ESTIMATE_TTL seconds per query in each worker (a large count does not become more
    useful by being recomputed every request)."""
    sql, params = _matching_ids_sql(queryset, compiled)
    key = _estimate_key(connection, queryset, (sql, params))
    now = time.monotonic()
    cached = _estimates.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        estimate = int(plan[0]["Plan"]["Plan Rows"])
    else:
        estimate = queryset.order_by().count()
    if len(_estimates) > 2000:
        _estimates.clear()
    _estimates[key] = (now + getattr(settings, "KAMENG_LIST_COUNT_ESTIMATE_TTL", 60), estimate)
    return estimate


class Pagination(BasePagination):
    page_size = settings.REST_FRAMEWORK.get("PAGE_SIZE", 25)
    page_query_param = "page"
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_param = CURSOR_PARAM

    def __init__(self):
        self.count_limit = getattr(settings, "KAMENG_LIST_COUNT_EXACT_UP_TO", 1000)
        self.row_sql = None
        self._compiled: tuple[str, tuple] | None = None
        self._order_attnames: list[str] = []

    # --- request parsing ---------------------------------------------------------------------------

    def get_page_size(self, request) -> int:
        """`?page_size=abc` or `0` is a 400 (DRF would silently use the default); above the maximum is capped."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and int(raw) >= 1):
            raise ValidationError({self.page_size_query_param: [_("A whole number of at least 1.")]})
        try:
            return _positive_int(request.query_params[self.page_size_query_param], strict=True,
                                 cutoff=self.max_page_size)
        except (KeyError, ValueError):
            return self.page_size

    def _page_number(self, request) -> int:
        raw = request.query_params.get(self.page_query_param, 1)
        try:
            page = _positive_int(raw, strict=True)
        except (TypeError, ValueError):
            raise NotFound(_("Invalid page.")) from None
        if page > MAX_PAGE:  # an offset past any list, and past what the database's OFFSET can hold
            raise NotFound(_("Invalid page."))
        return page

    def paginate_rendered(self, queryset: QuerySet, row_sql, request, view=None) -> list[str]:
        """Like paginate_queryset, but the database renders each row (`row_sql`, kameng_api/core/rendered.py):
        the page is a list of JSON texts, for `get_rendered_response`."""
        self.row_sql = row_sql
        self._order_attnames = [name for name, _desc in (list_ordering(queryset) or [])]
        rows = self.paginate_queryset(queryset, request, view)
        return [row[RENDERED_ROW] for row in rows]

    # --- paging ------------------------------------------------------------------------------------

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.view = view
        self.size = self.get_page_size(request)
        self.next_link = self.previous_link = None
        if not isinstance(queryset, QuerySet):
            return self._paginate_sequence(list(queryset))
        if self.cursor_query_param in request.query_params:
            return self._paginate_cursor(queryset, request.query_params[self.cursor_query_param])
        return self._paginate_pages(queryset)

    def _paginate_sequence(self, rows: list) -> list:
        page = self._page_number(self.request)
        start = (page - 1) * self.size
        self.count, self.count_exact = len(rows), True
        window = rows[start:start + self.size]
        if not window and page != 1:
            raise NotFound(_("Invalid page."))
        self._page_links(page, has_next=start + self.size < len(rows))
        return window

    def _paginate_pages(self, queryset: QuerySet) -> list:
        page = self._page_number(self.request)
        offset = (page - 1) * self.size
        few = offset == 0 and self._selective()
        self._compiled = None if few else self._compiled_ids(queryset)
        kept = None if few else kept_estimate(queryset, self._compiled)
        window = self._window(queryset, offset, self.size + 1, with_count=not few and kept is None)
        if not window and page != 1:
            raise NotFound(_("Invalid page."))
        has_next = len(window) > self.size
        self._page_links(page, has_next=has_next)
        if kept is not None:
            self.count, self.count_exact = max(kept, self.count_limit + 1), False
            return window[: self.size]
        counted = len(window) if few and not has_next else self._counted(window)
        self.count, self.count_exact = count_bounded(queryset, self.count_limit, counted, self._compiled)
        return window[: self.size]

    @staticmethod
    def _plain(queryset: QuerySet) -> bool:
        """A list query of model rows (no DISTINCT, values or UNION): its count and its windows are rewritten."""
        query = queryset.query
        return not (query.distinct or query.values_select or query.combinator)

    def _compiled_ids(self, queryset: QuerySet) -> tuple[str, tuple] | None:
        return _matching_ids_sql(queryset) if self._plain(queryset) else None

    def _selective(self) -> bool:
        """A request naming one of the view's `selective_params` (a search) matches few rows, found by an
        index that costs as much as the page itself: the first page is read alone, and when it is not full
        its length is the count, so the matching rows are not looked up a second time for the count."""
        view = getattr(self, "view", None)
        return any(name in self.request.query_params for name in getattr(view, "selective_params", ()))

    def _window(self, queryset: QuerySet, offset: int, limit: int, *, with_count: bool = True) -> list:
        """Rows offset..offset+limit, with the bounded count in the same statement. Past the first page,
        the offset is walked over ids only (an index-only scan where the list's index covers the filter)
        and only the page's rows are read, by primary key."""
        query = queryset.query
        if not self._plain(queryset):
            return self._fetch(queryset, offset, offset + limit)
        counted = {COUNT_ANNOTATION: bounded_count_sql(queryset, self.count_limit, self._compiled)} if with_count else {}
        if offset == 0 or any(getattr(a, "contains_aggregate", True) for a in query.annotations.values()):
            return self._fetch(queryset.annotate(**counted), offset, offset + limit)
        return self._fetch(queryset.filter(pk__in=queryset.values("pk")[offset: offset + limit])
                           .annotate(**counted), 0, None)

    def _fetch(self, queryset: QuerySet, start: int, stop: int | None) -> list:
        """The rows start..stop: model instances, or with `paginate_rendered` each row's JSON text (under
        RENDERED_ROW) with the count annotation and the list-order columns a cursor needs."""
        if self.row_sql is None:
            return list(queryset[start:stop])
        names = [RENDERED_ROW, *(n for n in (COUNT_ANNOTATION,) if n in queryset.query.annotations),
                 *self._order_attnames]
        from .rendered import fetch_prepared

        if self._selective() and connections[queryset.db].vendor == "postgresql":
            return self._fetch_found(queryset, start, stop)
        rows = fetch_prepared(queryset.annotate(**{RENDERED_ROW: self.row_sql}).values_list(*names)[start:stop])
        return [_Row(zip(names, row, strict=True)) for row in rows]

    def _fetch_found(self, queryset: QuerySet, start: int, stop: int | None) -> list:
        """A search in two statements. Its matches are found by a small statement planned with the search term
        itself (never prepared: under a generic plan `LIKE $1` cannot use the trigram index, and a search went
        from 8 ms to 1 s); the page's rows are then rendered by the prepared statement of "these ids, in the
        list order", which names no search term. Parsing and planning the rendering (several kilobytes of
        SQL) on every search cost more than the second round trip."""
        from .rendered import fetch_prepared

        counted = COUNT_ANNOTATION in queryset.query.annotations
        ordering = list_ordering(queryset)
        if ordering is None:  # an order the ids alone cannot restore: one statement, planned with the term
            names = [RENDERED_ROW, *([COUNT_ANNOTATION] if counted else []), *self._order_attnames]
            return [_Row(zip(names, row, strict=True)) for row in fetch_prepared(
                queryset.annotate(**{RENDERED_ROW: self.row_sql}).values_list(*names)[start:stop], prepare=False)]
        found = list(queryset.values_list("pk", *([COUNT_ANNOTATION] if counted else []))[start:stop])
        if not found:
            return []
        order_by = [("-" if desc else "") + name for name, desc in ordering]
        page = queryset.model._base_manager.using(queryset.db).filter(pk__in=[row[0] for row in found])
        names = [RENDERED_ROW, *self._order_attnames]
        rows = [_Row(zip(names, row, strict=True)) for row in fetch_prepared(
            page.order_by(*order_by).annotate(**{RENDERED_ROW: self.row_sql}).values_list(*names))]
        if counted:
            for row in rows:
                row[COUNT_ANNOTATION] = found[0][1]
        return rows

    @staticmethod
    def _counted(rows: list) -> int | None:
        return getattr(rows[0], COUNT_ANNOTATION, None) if rows else None

    def _page_links(self, page: int, *, has_next: bool) -> None:
        url = self.request.build_absolute_uri()
        if has_next:
            self.next_link = replace_query_param(url, self.page_query_param, page + 1)
        if page > 1:
            self.previous_link = (remove_query_param(url, self.page_query_param) if page == 2
                                  else replace_query_param(url, self.page_query_param, page - 1))

    def _paginate_cursor(self, queryset: QuerySet, token: str) -> list:
        ordering = list_ordering(queryset)
        if ordering is None:
            raise ValidationError({CURSOR_PARAM: [_("This list cannot be paged by cursor; use page.")]},
                                  code="cursor_not_supported")
        fields = [name for name, _desc in ordering]
        reverse = False
        qs = queryset
        if token:
            raw_values, reverse = decode_cursor(token)
            if len(raw_values) != len(ordering):
                raise _invalid_cursor()
            values = [self._to_python(queryset.model, name, raw) for name, raw in zip(fields, raw_values,
                                                                                       strict=True)]
            qs = qs.filter(self._after(ordering, values, reverse=reverse))
        order_by = [("-" if desc != reverse else "") + name for name, desc in ordering]
        compiled = _matching_ids_sql(queryset)
        kept = kept_estimate(queryset, compiled)
        ordered = qs.order_by(*order_by)
        if kept is None:
            ordered = ordered.annotate(**{COUNT_ANNOTATION: bounded_count_sql(queryset, self.count_limit, compiled)})
        rows = self._fetch(ordered, 0, self.size + 1)
        counted = self._counted(rows)
        more = len(rows) > self.size
        rows = rows[: self.size]
        if reverse:
            rows.reverse()
        url = self.request.build_absolute_uri()
        if rows:
            first = [getattr(rows[0], name) for name in fields]
            last = [getattr(rows[-1], name) for name in fields]
            if more or reverse:
                self.next_link = replace_query_param(url, self.cursor_query_param,
                                                     encode_cursor(last, reverse=False))
            if (more and reverse) or (token and not reverse):
                self.previous_link = replace_query_param(url, self.cursor_query_param,
                                                         encode_cursor(first, reverse=True))
        if kept is not None:
            self.count, self.count_exact = max(kept, self.count_limit + 1), False
        else:
            self.count, self.count_exact = count_bounded(queryset, self.count_limit, counted, compiled)
        return rows

    @staticmethod
    def _to_python(model, attname: str, raw: str):
        field = next(f for f in model._meta.concrete_fields if f.attname == attname)
        try:
            value = field.to_python(raw)
        except Exception:  # noqa: BLE001 - any malformed value is an invalid cursor
            raise _invalid_cursor() from None
        if value is None:
            raise _invalid_cursor()
        return value

    @staticmethod
    def _after(ordering: list[tuple[str, bool]], values: list, *, reverse: bool) -> Q:
        """Rows strictly after the position in the list order (before it when reverse). The leading
        range (first field <= / >= its value) lets the database start from the position in the index."""
        condition = Q()
        equal = Q()
        for (name, desc), value in zip(ordering, values, strict=True):
            op = "lt" if desc != reverse else "gt"
            condition |= equal & Q(**{f"{name}__{op}": value})
            equal &= Q(**{name: value})
        first_name, first_desc = ordering[0]
        leading = Q(**{f"{first_name}__{'lte' if first_desc != reverse else 'gte'}": values[0]})
        return leading & condition

    # --- response ----------------------------------------------------------------------------------

    def get_paginated_response(self, data):
        return Response(OrderedDict([
            ("count", self.count),
            ("count_exact", self.count_exact),
            ("next", self.next_link),
            ("previous", self.previous_link),
            ("results", data),
        ]))

    def get_rendered_response(self, rows: list[str]) -> HttpResponse:
        """The envelope of get_paginated_response around rows the database rendered, as JSON bytes."""
        head = json.dumps({"count": self.count, "count_exact": self.count_exact, "next": self.next_link,
                           "previous": self.previous_link}, ensure_ascii=False, separators=(",", ":"))
        body = head[:-1] + ',"results":[' + ",".join(rows) + "]}"
        return HttpResponse(body.encode(), content_type="application/json")

    def get_next_link(self):
        return self.next_link

    def get_previous_link(self):
        return self.previous_link

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123,
                          "description": "Matching rows: exact up to a bound (KAMENG_LIST_COUNT_EXACT_UP_TO, "
                                         "1,000 by default), PostgreSQL's estimate above it. An estimate is kept "
                                         "up to KAMENG_LIST_COUNT_ESTIMATE_TTL seconds (60) for the same filters, "
                                         "whatever the page or cursor, so it may be that old."},
                "count_exact": {"type": "boolean", "example": True,
                                "description": "false when `count` is an estimate (more rows than the bound, "
                                               "or found above it less than a minute ago)."},
                "next": {"type": "string", "nullable": True, "format": "uri",
                         "example": "https://kameng.example.cn/api/v1/cases/?page=4"},
                "previous": {"type": "string", "nullable": True, "format": "uri",
                             "example": "https://kameng.example.cn/api/v1/cases/?page=2"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "A page number within the paginated result set.",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Rows per page (at most {self.max_page_size}).",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Keyset paging: send it empty to start at the top of the list, then follow the "
                            "`next`/`previous` links (opaque cursors). Pages stay stable while rows are added: "
                            "no row twice, none skipped; deep pages cost the same as the first. Takes "
                            "precedence over `page`.",
             "schema": {"type": "string"}},
        ]
