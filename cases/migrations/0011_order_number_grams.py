"""Order numbers searched by a long fragment (a pasted marketplace order number, 18 digits or more).

The trigram index answers "contains" for any term, but an order number is made of ten digits whose
trigrams every number shares: an 18-digit term read ~700 index pages of long posting lists (9 ms at
1,000,000 cases). Six-character pieces are rare (a million values for digits alone), so an index of each
number's distinct six-character pieces finds the few numbers holding all of a term's pieces in a fraction
of a millisecond; the "contains" test then checks those rows (cases/filters.py). Terms shorter than six
characters keep the trigram index. PostgreSQL only; SQLite scans.

The three search indexes keep a small pending list (64 kB): see GRAMS_SQL.

`kameng_grams` is IMMUTABLE (upper() of the text and substr only), as an expression index requires."""

from django.db import migrations

from kameng_api.core.schema_sql import postgresql_only

SEARCH_INDEXES = ("case_reference_trgm_idx", "case_order_number_trgm_idx")
PENDING_KB = 64
GRAMS_SQL = [
    "CREATE OR REPLACE FUNCTION kameng_grams(text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    "$$ SELECT ARRAY(SELECT DISTINCT substr(upper($1), i, 6) FROM generate_series(1, length($1) - 5) AS i) $$",
    "CREATE INDEX IF NOT EXISTS case_order_number_grams_idx ON cases_case USING gin (kameng_grams(order_number::text)) "
    f"WITH (gin_pending_list_limit = {PENDING_KB})",
    # A GIN index keeps new entries in a pending list, merged in batches, that every search reads through
    # first. PostgreSQL lets it grow to 4 MB: with cases filed all day a search read thousands of pending
    # entries (4-6 ms instead of 0.2-0.6). Writing in place instead (fastupdate off) tripled the insert of a
    # case (0.44 -> 1.2-1.5 ms). A 64 kB list keeps both small: a search reads at most ~150 new cases' entries,
    # and about one insert in 150 merges the list (~20 ms once; p99 of the insert 0.9 ms).
    *(f"ALTER INDEX IF EXISTS {name} SET (gin_pending_list_limit = {PENDING_KB})" for name in SEARCH_INDEXES),
    *(f"SELECT gin_clean_pending_list('{name}'::regclass)" for name in SEARCH_INDEXES),
]
GRAMS_DROP = [*(f"ALTER INDEX IF EXISTS {name} RESET (gin_pending_list_limit)" for name in SEARCH_INDEXES),
              "DROP INDEX IF EXISTS case_order_number_grams_idx", "DROP FUNCTION IF EXISTS kameng_grams(text)"]


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0010_consumer_masked_forms"),
    ]

    operations = [
        postgresql_only(GRAMS_SQL, GRAMS_DROP),
    ]
