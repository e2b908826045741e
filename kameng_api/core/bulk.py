"""Write many rows' columns in one statement (the personal data migration, `rotate_data_keys`).

PostgreSQL: `UPDATE … FROM (VALUES …)`, one statement per batch, which the planner joins by primary key.
(Django's bulk_update builds one CASE WHEN per column with a branch per row, which PostgreSQL walks for
every row: quadratic in the batch.) Other databases: one UPDATE per row inside the caller's transaction.

`rows`: (pk, new values…[, old values…]). With `compare=True` a row is written only where its columns still
hold the old values (compare-and-set), so a concurrent write is never overwritten. Returns rows written."""


def update_rows(connection, *, table: str, pk: str, columns: list[str], rows: list[tuple],
                compare: bool = False) -> int:
    if not rows:
        return 0
    qn = connection.ops.quote_name
    width = 1 + len(columns) * (2 if compare else 1)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ["pk", *(f"new_{i}" for i in range(len(columns)))]
            if compare:
                names += [f"old_{i}" for i in range(len(columns))]
            placeholder = "(" + ", ".join(["%s::bigint"] + ["%s::text"] * (width - 1)) + ")"
            values = ", ".join([placeholder] * len(rows))
            assign = ", ".join(f"{qn(c)} = v.new_{i}" for i, c in enumerate(columns))
            where = f"t.{qn(pk)} = v.pk"
            if compare:
                where += "".join(f" AND t.{qn(c)} = v.old_{i}" for i, c in enumerate(columns))
            cursor.execute(
                f"UPDATE {qn(table)} AS t SET {assign} FROM (VALUES {values}) AS v({', '.join(names)}) "  # noqa: S608
                f"WHERE {where}",
                [value for row in rows for value in row])
            return cursor.rowcount
        assign = ", ".join(f"{qn(c)} = %s" for c in columns)
        where = f"{qn(pk)} = %s" + ("".join(f" AND {qn(c)} = %s" for c in columns) if compare else "")
        written = 0
        for row in rows:
            new, old = row[1:1 + len(columns)], row[1 + len(columns):]
            cursor.execute(f"UPDATE {qn(table)} SET {assign} WHERE {where}", [*new, row[0], *old])  # noqa: S608
            written += cursor.rowcount
        return written
