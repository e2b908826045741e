"""Prepare and tidy the evidence storage:
`python manage.py evidence_storage [--create-bucket] [--abort-older-than H] [--unreferenced-older-than H [--delete]]`.

Checks that the storage takes, returns and deletes a probe object. On S3 it can create the bucket (private),
abort multipart uploads left open longer than H hours by a node that died in the middle of an upload (such
parts are invisible and never referenced; a bucket lifecycle rule AbortIncompleteMultipartUpload does the
same on stores that support it), and list — or with --delete remove — objects no evidence row refers to
(a node that died between storing a file and committing its row). Evidence itself is never deleted: an
object that a row names is never touched."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evidence import storage


class Command(BaseCommand):
    help = "Check the evidence storage; on S3 create the bucket and abort abandoned multipart uploads."

    def add_arguments(self, parser):
        parser.add_argument("--create-bucket", action="store_true", help="S3: create the bucket if it is missing")
        parser.add_argument("--abort-older-than", type=float, metavar="HOURS",
                            help="S3: abort multipart uploads started more than HOURS ago")
        parser.add_argument("--unreferenced-older-than", type=float, metavar="HOURS",
                            help="S3: list objects under evidence/ that no evidence row names, older than HOURS")
        parser.add_argument("--delete", action="store_true", help="with --unreferenced-older-than: delete them")

    def handle(self, *args, create_bucket=False, abort_older_than=None, unreferenced_older_than=None,
               delete=False, **options):
        if storage.is_s3():
            client, bucket, key = storage._s3()
            errors = storage._client_errors()
            try:
                client.head_bucket(Bucket=bucket)
            except errors as exc:
                if not create_bucket:
                    raise CommandError(f"bucket {bucket!r} not reachable: {exc}") from exc
                client.create_bucket(Bucket=bucket, ACL="private")
                self.stdout.write(f"created bucket {bucket}")
            if abort_older_than is not None:
                cutoff = timezone.now() - timedelta(hours=abort_older_than)
                aborted = 0
                for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
                    for upload in page.get("Uploads", []):
                        if upload["Initiated"] < cutoff:
                            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"],
                                                          UploadId=upload["UploadId"])
                            aborted += 1
                self.stdout.write(f"aborted {aborted} abandoned multipart upload(s)")
            if unreferenced_older_than is not None:
                self._unreferenced(client, bucket, key, unreferenced_older_than, delete)
        name = storage.storage_name().replace("evidence/", "evidence/probe-", 1)
        writer_ok = False
        try:
            from django.core.files.base import ContentFile
            from django.core.files.storage import default_storage

            saved = default_storage.save(name, ContentFile(b"kameng storage probe"))
            with storage.open_stored(saved) as fh:
                writer_ok = fh.read() == b"kameng storage probe"
            default_storage.delete(saved)
        except Exception as exc:
            raise CommandError(f"evidence storage not usable: {exc.__class__.__name__}: {exc}") from exc
        if not writer_ok:
            raise CommandError("evidence storage returned different bytes than it was given")
        self.stdout.write(self.style.SUCCESS(f"evidence storage ok ({'S3' if storage.is_s3() else 'local disk'})"))

    def _unreferenced(self, client, bucket, key, hours: float, delete: bool) -> None:
        from evidence.models import Evidence

        cutoff = timezone.now() - timedelta(hours=hours)
        prefix = key("evidence/")
        found = 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            old = {o["Key"]: o for o in page.get("Contents", []) if o["LastModified"] < cutoff}
            names = {k[len(prefix) - len("evidence/"):]: k for k in old}
            known = set(Evidence.objects.filter(file__in=list(names)).values_list("file", flat=True))
            for name, object_key in names.items():
                if name in known:
                    continue
                found += 1
                self.stdout.write(f"unreferenced: {name} ({old[object_key]['Size']} bytes)")
                if delete:
                    client.delete_object(Bucket=bucket, Key=object_key)
        self.stdout.write(f"{found} unreferenced object(s){' deleted' if delete and found else ''}")
