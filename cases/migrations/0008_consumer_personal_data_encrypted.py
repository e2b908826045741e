"""Personal data encrypted at rest, with blind indexes for exact search (PIPL art. 51; README "Personal data
(PIPL)"). Three steps so that the data step reads and writes the columns as plain text: the columns become
`text`, the rows are encrypted and indexed in batches (ordered by primary key), then the fields are
declared encrypted (no SQL). Reversible: backwards the rows are decrypted and the columns narrowed again."""

from django.db import migrations, models

import kameng_api.core.encrypted
import kameng_api.core.fields

BATCH = 2000
FIELDS = ("name", "phone", "id_number", "payment_account")
INDEXED = {"name": "name_index", "phone": "phone_index", "id_number": "id_number_index"}


def _batches(schema_editor, columns):
    """Rows of cases_consumer (id first, then `columns`) in primary-key order, BATCH at a time."""
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, {', '.join(qn(c) for c in columns)} FROM cases_consumer "  # noqa: S608
                           "WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def encrypt_rows(apps, schema_editor):
    from kameng_api.core import crypto
    from kameng_api.core.bulk import update_rows

    columns = [*FIELDS, *INDEXED.values()]
    for rows in _batches(schema_editor, FIELDS):
        written = []
        for pk, *values in rows:
            plain = dict(zip(FIELDS, values, strict=True))
            tokens = [v if not v or v.startswith(crypto.TOKEN_PREFIX) else crypto.encrypt(v) for v in values]
            indexes = [crypto.blind_index(kind, crypto.decrypt(plain[kind]) if plain[kind].startswith(
                crypto.TOKEN_PREFIX) else plain[kind]) for kind in INDEXED]
            written.append((pk, *tokens, *indexes))
        update_rows(schema_editor.connection, table="cases_consumer", pk="id", columns=columns, rows=written)


def decrypt_rows(apps, schema_editor):
    from kameng_api.core import crypto
    from kameng_api.core.bulk import update_rows

    for rows in _batches(schema_editor, FIELDS):
        written = [(pk, *(crypto.decrypt(v) if v and v.startswith(crypto.TOKEN_PREFIX) else v for v in values))
                   for pk, *values in rows]
        update_rows(schema_editor.connection, table="cases_consumer", pk="id", columns=list(FIELDS), rows=written)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0007_merge_0003_case_list_indexes_0006_merge_law"),
    ]

    operations = [
        migrations.AddField(
            model_name="consumer",
            name="anonymized_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="anonymized at"),
        ),
        migrations.AddField(
            model_name="consumer",
            name="id_number_index",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="consumer",
            name="name_index",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="consumer",
            name="phone_index",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        # 1. room for the tokens
        migrations.AlterField(model_name="consumer", name="name", field=models.TextField(verbose_name="name")),
        migrations.AlterField(model_name="consumer", name="phone",
                              field=models.TextField(blank=True, verbose_name="phone")),
        migrations.AlterField(model_name="consumer", name="id_number",
                              field=models.TextField(blank=True, verbose_name="ID number")),
        migrations.AlterField(model_name="consumer", name="payment_account",
                              field=models.TextField(blank=True, verbose_name="payment account")),
        # 2. the rows
        migrations.RunPython(encrypt_rows, decrypt_rows, elidable=False),
        # 3. declared encrypted (the column stays `text`: no SQL)
        migrations.AlterField(
            model_name="consumer",
            name="id_number",
            field=kameng_api.core.encrypted.EncryptedTextField(blank=True, max_length=18, verbose_name="ID number"),
        ),
        migrations.AlterField(
            model_name="consumer",
            name="name",
            field=kameng_api.core.encrypted.EncryptedTextField(
                max_length=100, validators=[kameng_api.core.fields.no_bidi_controls], verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="consumer",
            name="payment_account",
            field=kameng_api.core.encrypted.EncryptedTextField(blank=True, max_length=100,
                                                               verbose_name="payment account"),
        ),
        migrations.AlterField(
            model_name="consumer",
            name="phone",
            field=kameng_api.core.encrypted.EncryptedTextField(blank=True, max_length=20, verbose_name="phone"),
        ),
        migrations.AddIndex(
            model_name="consumer",
            index=models.Index(condition=models.Q(("name_index", ""), _negated=True),
                               fields=["organization", "name_index"], name="consumer_name_bidx"),
        ),
        migrations.AddIndex(
            model_name="consumer",
            index=models.Index(condition=models.Q(("phone_index", ""), _negated=True),
                               fields=["organization", "phone_index"], name="consumer_phone_bidx"),
        ),
        migrations.AddIndex(
            model_name="consumer",
            index=models.Index(condition=models.Q(("id_number_index", ""), _negated=True),
                               fields=["organization", "id_number_index"], name="consumer_id_number_bidx"),
        ),
    ]
