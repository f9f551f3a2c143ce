"""A queryset compiled to SQL once per process and run again with new values.

Reading one release with the facts its rules ask (ReleaseQuerySet.with_facts: ten
subqueries, three joins) costs PostgreSQL a fraction of a millisecond, but building that SQL
through the ORM cost several milliseconds of Python on every request: more than the rest of
a cached page (docs/benchmarks.md). `Prepared` builds the queryset once with marker values,
keeps the compiled SQL and the compiler's column map, and on each call swaps the markers for
the request's values, executes, and builds the same model objects the ORM would (the
compiler's converters, `select_related` objects and annotations included).

Only values that are query parameters can vary (a pk, a user id, a time); the shape of the
queryset cannot. tests/test_prepared.py compares every field, related object and annotation
with the ORM's own result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators


def fetch(sql: str, params, *, using: str = "default", size: int = 2) -> list[tuple]:
    """Up to `size` rows of a statement that runs on every request, planned once per connection.

    Django's psycopg cursors bind values on the client, so PostgreSQL parses and plans the
    statement again on every call: for the gate's one statement, planning took 1.2 ms and
    running it 0.3 ms (EXPLAIN ANALYZE on 100,000 releases, docs/benchmarks.md). A cursor
    that binds on the server with `prepare=True` lets PostgreSQL keep the plan for the life
    of the connection (CONN_MAX_AGE). Errors are Django's, as from any cursor, and the
    statement is recorded where Django records queries (tests count it).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchmany(size)
    import psycopg  # PostgreSQL's driver; absent from a SQLite-only install

    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchmany(size)
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


# Values no real query uses: they mark where the request's values go.
MARKERS = {
    "pk": -7_301_234_567,
    "user": -7_301_234_568,
    "now": datetime(2001, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC),
}


class Prepared:
    """`build(pk=..., user=..., now=...)` returns the queryset; `get(...)` runs it, compiled once."""

    def __init__(self, build: Callable[..., QuerySet]):
        self._build = build
        self._local = threading.local()  # a compiler is not shared between threads

    def _adapt(self, using: str, name: str, value):
        if name == "now":
            return connections[using].ops.adapt_datetimefield_value(value)
        return value

    def _compiled(self, using: str):
        found = getattr(self._local, using, None)
        if found is None:
            queryset = self._build(**MARKERS)
            compiler = queryset.query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            marks = [(name, self._adapt(using, name, value)) for name, value in MARKERS.items()]
            slots = []
            for param in params:
                slot = None
                for name, marker in marks:
                    if type(param) is type(marker) and param == marker:
                        slot = name
                slots.append(slot)
            found = (compiler, sql, list(params), slots, queryset.model)
            setattr(self._local, using, found)
        return found

    def get(self, *, using: str = "default", **values) -> Model | None:
        """The one object the queryset finds with these values, or None."""
        compiler, sql, params, slots, model = self._compiled(using)
        actual = [
            self._adapt(using, slot, values[slot]) if slot else param
            for param, slot in zip(params, slots, strict=True)
        ]
        rows = fetch(sql, actual, using=using)
        if len(rows) != 1:
            return None
        select, klass_info, annotation_col_map = (
            compiler.select,
            compiler.klass_info,
            compiler.annotation_col_map,
        )
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        populators = get_related_populators(klass_info, select, using)
        for row in compiler.results_iter([rows]):
            obj = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in (annotation_col_map or {}).items():
                setattr(obj, name, row[position])
            return obj
        return None
