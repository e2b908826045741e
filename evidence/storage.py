"""Where evidence bytes live: the node's filesystem (`make run`) or an S3-compatible object store shared by
every node (S3_BUCKET: SeaweedFS, MinIO, OSS, COS, AWS), through django-storages' S3Storage and its client.

On S3 nothing passes through the node's disk: an upload goes to the object store as a multipart upload in
parts of EVIDENCE_S3_PART_BYTES while it is hashed, with at most EVIDENCE_S3_PARTS_IN_FLIGHT parts sent at
once, so memory stays bounded whatever the size and no local temporary space is used. Reads (download,
bundle, verify) stream the object's body in chunks instead of copying it to a local file first (which
S3Storage.open() would do). Objects are private: they are written without a public ACL and no URL to
them is ever handed out; files leave only through the API's download and bundle views."""

import math
import secrets
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage

from kameng_api.core.exceptions import StorageUnavailable  # noqa: F401 - raised here, imported from here

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PARTS = 10_000  # S3's largest number of parts
READ_CHUNK = 1024 * 1024


def storage_name() -> str:
    """Random, unguessable, and carrying nothing of the upload (no name, no extension, no case id)."""
    token = secrets.token_urlsafe(32)
    return f"evidence/{token[:2]}/{token}"


def is_local() -> bool:
    return isinstance(default_storage, FileSystemStorage)


def is_s3() -> bool:
    from storages.backends.s3 import S3Storage

    return isinstance(default_storage, S3Storage)


def _s3():
    """(client, bucket name, object key of a storage name) of the configured S3Storage."""
    from storages.backends.s3 import S3Storage

    storage = default_storage
    assert isinstance(storage, S3Storage), "only called when is_s3()"
    client = storage.connection.meta.client

    def key(name: str) -> str:
        from storages.utils import clean_name

        return storage._normalize_name(clean_name(name))

    return client, storage.bucket_name, key


def _client_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def part_size() -> int:
    """The configured part size, raised when needed so the largest allowed upload fits in 10,000 parts."""
    configured = max(MIN_PART, getattr(settings, "EVIDENCE_S3_PART_BYTES", 8 * 1024 * 1024))
    return max(configured, math.ceil(settings.EVIDENCE_MAX_UPLOAD_BYTES / (MAX_PARTS - 1)))


class MultipartWriter:
    """Writes one object as it arrives: buffers one part, sends full parts from a helper thread (boto3
    releases the GIL on the socket), keeps at most `in_flight` parts waiting. A file smaller than one
    part is sent with one PUT on `complete()`. `abort()` leaves nothing behind in the bucket. Memory: the part
being filled plus the parts in flight, each handed to the sender without a copy."""

    def __init__(self, name: str):
        self.name = name
        self.client, self.bucket, key = _s3()
        self.key = key(name)
        self.part_size = part_size()
        self.in_flight = max(1, getattr(settings, "EVIDENCE_S3_PARTS_IN_FLIGHT", 1))
        self.upload_id: str | None = None
        self.parts: list[dict] = []
        self._buffer = bytearray()
        self._pending: deque[Future] = deque()
        self._executor: ThreadPoolExecutor | None = None
        self.done = False
        self.params = {"ContentType": "application/octet-stream"}
        acl = getattr(default_storage, "default_acl", None)
        if acl:
            self.params["ACL"] = acl

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            room = self.part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == self.part_size:
                part, self._buffer = self._buffer, bytearray()  # handed over whole, never copied
                self._send(part)

    def _send(self, part: bytearray) -> None:
        errors = _client_errors()
        try:
            if self.upload_id is None:
                self.upload_id = self.client.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, **self.params)["UploadId"]
                self._executor = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="evidence-s3")
            while len(self._pending) >= self.in_flight:
                self._pending.popleft().result()
        except errors as exc:
            raise StorageUnavailable(str(exc)) from exc
        number = len(self.parts) + 1
        self.parts.append({"PartNumber": number})
        assert self._executor is not None, "started with the multipart upload"
        self._pending.append(self._executor.submit(self._upload_part, number, part))

    def _upload_part(self, number: int, part: bytearray) -> None:
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                         PartNumber=number, Body=part)
        self.parts[number - 1]["ETag"] = answer["ETag"]

    def complete(self) -> None:
        errors = _client_errors()
        try:
            if self.upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), **self.params)
            else:
                if self._buffer:
                    part, self._buffer = self._buffer, bytearray()
                    self._send(part)
                while self._pending:
                    self._pending.popleft().result()
                self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                                      MultipartUpload={"Parts": self.parts})
        except errors as exc:
            self.abort()
            raise StorageUnavailable(str(exc)) from exc
        finally:
            self._buffer = bytearray()
            self._shutdown()
        self.done = True

    def abort(self) -> None:
        for future in self._pending:
            future.cancel()
        for future in self._pending:
            try:
                future.result()
            except Exception:  # noqa: S110 - the upload is being thrown away
                pass
        self._pending.clear()
        self._shutdown()
        self._buffer = bytearray()
        if self.upload_id is not None and not self.done:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            except _client_errors():
                pass  # the bucket's lifecycle rule for incomplete uploads removes it later (README)
            self.upload_id = None

    def _shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


class ObjectReader:
    """A read-only, streaming file over an S3 object's body: read(n) pulls n bytes from the socket."""

    def __init__(self, name: str):
        client, bucket, key = _s3()
        try:
            answer = client.get_object(Bucket=bucket, Key=key(name))
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(name) from None
        except _client_errors() as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                raise FileNotFoundError(name) from None
            raise StorageUnavailable(str(exc)) from exc
        self.name = name
        self.size = answer["ContentLength"]
        self._body = answer["Body"]
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        try:
            return self._body.read(None if size is None or size < 0 else size)
        except _client_errors() as exc:
            raise StorageUnavailable(str(exc)) from exc

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._body.close()
            self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_stored(name: str):
    """A stored file opened for streaming reads (FileNotFoundError if it is not there)."""
    if is_s3():
        return ObjectReader(name)
    return default_storage.open(name, "rb")


def delete_stored(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # noqa: S110 - best effort; an unreferenced object is never served
        pass
