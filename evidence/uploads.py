"""Streaming upload of evidence files: one pass over the request body writes each chunk to its place,
feeds SHA-256, keeps the first bytes for sniffing, and counts the size, so memory stays flat whatever the
size and the limit is enforced while the bytes arrive (413 at once, partial file removed).

Its place is a temporary file beside the storage on a local filesystem (adopted by a rename), or, on
S3-compatible storage, the final object itself under a fresh random name, sent as a multipart upload
(evidence/storage.py): nothing is written to the node's disk, and an upload that is refused (type, size,
duplicate, a broken connection) is aborted or deleted, never left in the bucket."""

import hashlib
import os
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.utils.translation import gettext as _
from rest_framework.exceptions import ErrorDetail, ValidationError

from kameng_api.core.exceptions import PayloadTooLarge

from . import storage
from .filetypes import SNIFF_BYTES

FIELD = "file"
# Room for the other form fields and the multipart framing around the file.
FORM_OVERHEAD = 64 * 1024
# Disk writes run in one helper thread (os.write releases the GIL), overlapping the parsing and hashing
# of the next chunk; at most this many chunks wait, so memory stays bounded (about 4 MB).
PENDING_WRITES = 4


def max_upload_bytes() -> int:
    return settings.EVIDENCE_MAX_UPLOAD_BYTES


def temp_dir() -> Path:
    """Beside the files when they are stored on this filesystem (the final move is a rename)."""
    configured = getattr(settings, "EVIDENCE_UPLOAD_TEMP_DIR", None)
    if configured:
        return Path(configured)
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.location) / "evidence-tmp"
    return Path(tempfile.gettempdir())


def too_large() -> PayloadTooLarge:
    limit = max_upload_bytes()
    return PayloadTooLarge(
        _("The file is larger than the limit of %(mb)s MB (%(bytes)s bytes).")
        % {"mb": round(limit / 1024 / 1024, 1), "bytes": limit}
    )


def multiple_files() -> ValidationError:
    return ValidationError({FIELD: [ErrorDetail(_("Send exactly one file per upload."), code="multiple_files")]})


class HashedUpload(UploadedFile):
    """The received file: still in its temporary place (or, on S3, an object nobody refers to yet) until
    the service adopts it."""

    # Always given (UploadedFile allows None for both).
    name: str
    size: int

    def __init__(self, *, path: str | None, name: str, size: int, sha256: str, head: bytes, has_nul: bool,
                 declared_type: str, stored_name: str | None = None):
        handle = open(path, "rb") if path else None  # noqa: SIM115
        super().__init__(file=handle, name=name, content_type=declared_type, size=size)
        self.path = path
        self.stored_name = stored_name
        self.sha256 = sha256
        self.head = head
        self.has_nul = has_nul
        self.adopted = False

    def temporary_file_path(self):
        return self.path

    def adopt(self) -> str:
        """Give the file its storage name and hand it over (a rename on the local filesystem; on S3 the
        object is already in place). From here on the caller deletes it if it is not kept."""
        if self.stored_name is not None:
            self.adopted = True
            return self.stored_name
        assert self.path is not None, "an upload not stored yet has a temporary file"
        name = storage.storage_name()
        if storage.is_local():
            target = Path(default_storage.path(name))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, target)
            os.chmod(target, 0o640)
        else:  # another storage backend: copy through its API
            from django.core.files import File

            with open(self.path, "rb") as fh:
                name = default_storage.save(name, File(fh))
        self.adopted = True
        return name

    def close(self):
        """Closing an upload that was not adopted removes its temporary file (or object)."""
        try:
            if self.file is not None:
                self.file.close()
        finally:
            if self.path:
                Path(self.path).unlink(missing_ok=True)
            if self.stored_name and not self.adopted:
                self.adopted = True  # once
                storage.delete_stored(self.stored_name)


class EvidenceUploadHandler(FileUploadHandler):
    """Only the `file` field is accepted (one file); any other file part is skipped unread."""

    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.max_size = max_upload_bytes()
        self.directory = temp_dir()
        self.created: list[str] = []
        self.received = False
        self._out = None
        self._path = None
        self._object: storage.MultipartWriter | None = None
        self.uploads: list[HashedUpload] = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_size + FORM_OVERHEAD:
            raise too_large()
        return None

    def new_file(self, field_name, file_name, content_type, content_length, charset=None,
                 content_type_extra=None):
        if field_name == FIELD and self.received:
            raise multiple_files()
        if field_name != FIELD:
            raise SkipFile()
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        if content_length is not None and content_length > self.max_size:
            raise too_large()
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._size = 0
        self._has_nul = False
        if storage.is_s3():
            self._object = storage.MultipartWriter(storage.storage_name())
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, self._path = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=self.directory)
        self.created.append(self._path)
        self._out = os.fdopen(fd, "wb", buffering=0)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-upload")
        self._pending: deque[Future[None]] = deque()

    def receive_data_chunk(self, raw_data, start):
        self._size += len(raw_data)
        if self._size > self.max_size:
            self._discard()
            raise too_large()
        if len(self._head) < SNIFF_BYTES:
            self._head += raw_data[: SNIFF_BYTES - len(self._head)]
        if not self._has_nul and b"\x00" in raw_data:
            self._has_nul = True
        if self._object is not None:
            self._hash.update(raw_data)
            try:
                self._object.write(raw_data)
            except storage.StorageUnavailable:
                self._discard()
                raise
            return None
        while len(self._pending) >= PENDING_WRITES:
            self._pending.popleft().result()
        self._pending.append(self._writer.submit(self._write_all, self._out, raw_data))
        self._hash.update(raw_data)
        return None

    @staticmethod
    def _write_all(out, data):
        view = memoryview(data)
        while view:
            written = out.write(view)
            view = view[written:]

    def _drain(self):
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pending.clear()
            self._writer.shutdown(wait=True)

    def file_complete(self, file_size):
        if self._object is not None:
            writer, self._object = self._object, None
            writer.complete()  # aborts the multipart upload itself if the store refuses
            self.received = True
            upload = HashedUpload(path=None, stored_name=writer.name, name=self.file_name or "", size=self._size,
                                  sha256=self._hash.hexdigest(), head=bytes(self._head), has_nul=self._has_nul,
                                  declared_type=self.content_type or "")
            self.uploads.append(upload)
            return upload
        self._drain()
        out, self._out = self._out, None
        assert out is not None, "new_file opened it"
        out.flush()
        os.fsync(out.fileno())
        out.close()
        self.received = True
        return HashedUpload(path=self._path, name=self.file_name or "", size=self._size, sha256=self._hash.hexdigest(),
                            head=bytes(self._head), has_nul=self._has_nul, declared_type=self.content_type or "")

    def upload_interrupted(self):
        self._discard()

    def _discard(self):
        if self._object is not None:
            self._object.abort()
            self._object = None
        if self._out is not None:
            try:
                self._drain()
            except OSError:
                pass
            self._out.close()
            self._out = None
        if self._path:
            Path(self._path).unlink(missing_ok=True)

    def cleanup(self):
        """Remove every temporary file of this request that was not adopted (called when the view ends)."""
        self._discard()
        for path in self.created:
            Path(path).unlink(missing_ok=True)
        for upload in self.uploads:
            upload.close()


def upload_from_bytes(content: bytes, name: str) -> HashedUpload:
    """A received file made from bytes already in hand (demo data, imports), in the same shape the streaming
    handler gives the evidence service: a temporary file beside the storage, hashed, with its head kept."""
    directory = temp_dir()
    directory.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return HashedUpload(path=path, name=name, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                        head=content[:SNIFF_BYTES], has_nul=b"\x00" in content, declared_type="")
