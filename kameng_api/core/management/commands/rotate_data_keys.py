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
            table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
            columns = [qn(f.column) for f in fields]
            select = (f"SELECT {pk}, {', '.join(columns)} FROM {table} WHERE {pk} > %s "  # noqa: S608
                      f"ORDER BY {pk} LIMIT %s")
            assign = ", ".join(f"{c} = %s" for c in columns)
            unchanged = " AND ".join(f"{c} = %s" for c in columns)
            update = f"UPDATE {table} SET {assign} WHERE {pk} = %s AND {unchanged}"  # noqa: S608
            last = after
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(select, [last, batch])
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    for row in rows:
                        old = list(row[1:])
                        new = [v if crypto.is_current(v) else crypto.reencrypt(v) for v in old]
                        changed = sum(1 for a, b in zip(old, new, strict=True) if a != b)
                        if changed:
                            cursor.execute(update, [*new, row[0], *old])
                            if cursor.rowcount:
                                total_rows += 1
                                total_values += changed
                    last = rows[-1][0]
                self.stdout.write(f"{model._meta.label} up to id {last}", ending="\n")
                if pause:
                    time.sleep(pause)
        self.stdout.write(self.style.SUCCESS(
            f"{total_rows} rows re-encrypted ({total_values} values) in {time.monotonic() - started:.1f} s; "
            "the keys after the first can be removed from KAMENG_DATA_KEYS."))
