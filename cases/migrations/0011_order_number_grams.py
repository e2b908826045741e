"""Order numbers searched by a long fragment (a pasted marketplace order number, 18 digits or more).

The trigram index answers "contains" for any term, but an order number is made of ten digits whose
trigrams every number shares: an 18-digit term read ~700 index pages of long posting lists (9 ms at
1,000,000 cases). Six-character pieces are rare (a million values for digits alone), so an index of each
number's distinct six-character pieces finds the few numbers holding all of a term's pieces in a fraction
of a millisecond; the "contains" test then checks those rows (cases/filters.py). Terms shorter than six
characters keep the trigram index. PostgreSQL only; SQLite scans.

The three search indexes are written in place (fastupdate off): see GRAMS_SQL.

`kameng_grams` is IMMUTABLE (upper() of the text and substr only), as an expression index requires."""

from django.db import migrations

SEARCH_INDEXES = ("case_reference_trgm_idx", "case_order_number_trgm_idx")
GRAMS_SQL = [
    "CREATE OR REPLACE FUNCTION kameng_grams(text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    "$$ SELECT ARRAY(SELECT DISTINCT substr(upper($1), i, 6) FROM generate_series(1, length($1) - 5) AS i) $$",
    "CREATE INDEX IF NOT EXISTS case_order_number_grams_idx ON cases_case USING gin (kameng_grams(order_number::text)) "
    "WITH (fastupdate = off)",
    # A GIN index keeps new entries in a pending list (up to 4 MB) that every search reads through before
    # they are merged: with cases filed all day, a search read thousands of pending entries (4-6 ms instead of
    # 0.2). Without it, each new case writes its entries in place (a fraction of a millisecond per case).
    *(f"ALTER INDEX IF EXISTS {name} SET (fastupdate = off)" for name in SEARCH_INDEXES),
    *(f"SELECT gin_clean_pending_list('{name}'::regclass)" for name in SEARCH_INDEXES),
]
GRAMS_DROP = [*(f"ALTER INDEX IF EXISTS {name} RESET (fastupdate)" for name in SEARCH_INDEXES),
              "DROP INDEX IF EXISTS case_order_number_grams_idx", "DROP FUNCTION IF EXISTS kameng_grams(text)"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0010_consumer_masked_forms"),
    ]

    operations = [
        migrations.RunPython(_run(GRAMS_SQL), _run(GRAMS_DROP), elidable=False),
    ]
