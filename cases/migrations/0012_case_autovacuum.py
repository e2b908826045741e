"""How often PostgreSQL vacuums the cases table (storage parameters; PostgreSQL only).

A list page past the first walks the ids of its list order in an index (cases/models.py, LIST_INDEXES), and
the bounded count reads up to KAMENG_LIST_COUNT_EXACT_UP_TO of them. The walk stays inside the index only
where the table's visibility map says a page holds no row changed since the last vacuum; otherwise each
entry is checked in the table too. The newest cases, the head of every list, are exactly the rows not yet
vacuumed. PostgreSQL's defaults wait for 20 % of the table (200,000 cases at a million) to be new or
changed before vacuuming; these settings vacuum after about 0.1 % + 500 rows inserted and 1 % + 500 rows
changed, so the head of the lists is index-only again within about a minute (autovacuum_naptime).
Measured at 1,000,000 cases: walking 25,000 ids took 4.5 ms with the bench's own new cases unvacuumed
(5,193 table reads), 2.8 ms after a vacuum (none)."""

from django.db import migrations

from kameng_api.core.schema_sql import postgresql_only

TABLE = "cases_case"
PARAMETERS = {
    "autovacuum_vacuum_insert_threshold": "500",
    "autovacuum_vacuum_insert_scale_factor": "0.001",
    "autovacuum_vacuum_threshold": "500",
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_analyze_scale_factor": "0.01",
}
PAIRS = ", ".join(f"{name} = {value}" for name, value in PARAMETERS.items())


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0011_order_number_grams"),
    ]

    operations = [
        postgresql_only([f"ALTER TABLE {TABLE} SET ({PAIRS})"], [f"ALTER TABLE {TABLE} RESET ({', '.join(PARAMETERS)})"]),
    ]
