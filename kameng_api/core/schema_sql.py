"""SQL that only PostgreSQL runs in a migration (indexes, functions and storage settings SQLite has no
counterpart for): SQLite, the embedded default, skips it."""

from django.db import migrations


def postgresql_only(statements, reverse_statements=()) -> migrations.RunPython:
    """A migration operation running `statements` on PostgreSQL (and `reverse_statements` when unapplied)."""

    def runner(sql):
        def run(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                for statement in sql:
                    schema_editor.execute(statement)
        return run

    return migrations.RunPython(runner(list(statements)), runner(list(reverse_statements)), elidable=False)
