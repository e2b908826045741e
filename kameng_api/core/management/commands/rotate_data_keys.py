"""Re-encrypt every encrypted value under the first key of KAMENG_DATA_KEYS (README "Personal data (PIPL)").

Put the new key first (old keys after it), restart the service, run this, then remove the old keys. It works
while traffic continues: rows are read in primary-key order in small batches, each value not already under
the current key is re-encrypted, and each row is written back only if it has not changed since it was read
(compare-and-set, one short transaction per batch), so a correction made meanwhile is never overwritten
(it was written under the current key anyway). Interrupted, it resumes where it stopped (`--after`), or
from the start: values under the current key are skipped. Blind indexes do not change."""

import time

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from kameng_api.core import crypto
from kameng_api.core.bulk import update_rows
from kameng_api.core.encrypted import EncryptedTextField


def encrypted_models():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "Re-encrypt personal data under the first key of KAMENG_DATA_KEYS, in batches, without downtime."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=None, help="rows per transaction (KAMENG_ROTATE_BATCH)")
        parser.add_argument("--after", type=int, default=0, help="resume after this primary key")
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to sleep between batches")
        parser.add_argument("--new-key", action="store_true", help="print a new Fernet key and exit")

    def handle(self, *args, batch=None, after=0, pause=0.0, new_key=False, **options):
        if new_key:
            self.stdout.write(crypto.new_data_key())
            return
        crypto.reset_keys()
        crypto.check_keys()
        batch = batch or settings.KAMENG_ROTATE_BATCH
        qn = connection.ops.quote_name
        total_rows = total_values = 0
        started = time.monotonic()
        for model, fields in encrypted_models():
            table, pk = model._meta.db_table, model._meta.pk.column
            columns = [f.column for f in fields]
            select = (f"SELECT {qn(pk)}, {', '.join(qn(c) for c in columns)} FROM {qn(table)} "  # noqa: S608
                      f"WHERE {qn(pk)} > %s ORDER BY {qn(pk)} LIMIT %s")
            last = after
            while True:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute(select, [last, batch])
                        rows = cursor.fetchall()
                    if not rows:
                        break
                    changed = []
                    for row in rows:
                        old = list(row[1:])
                        new = [v if crypto.is_current(v) else crypto.reencrypt(v) for v in old]
                        if new != old:
                            changed.append((row[0], *new, *old))
                            total_values += sum(1 for a, b in zip(old, new, strict=True) if a != b)
                    total_rows += update_rows(connection, table=table, pk=pk, columns=columns, rows=changed,
                                              compare=True)
                    last = rows[-1][0]
                self.stdout.write(f"{model._meta.label} up to id {last}")
                if pause:
                    time.sleep(pause)
        self.stdout.write(self.style.SUCCESS(
            f"{total_rows} rows re-encrypted ({total_values} values) in {time.monotonic() - started:.1f} s; "
            "the keys after the first can be removed from KAMENG_DATA_KEYS."))
