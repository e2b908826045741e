"""What files each kind of evidence may be, decided from the bytes, never from the name or the
client's Content-Type; and how names are made safe.

Binary formats are recognised by their magic numbers (the `filetype` library). HTML, JSON and plain
text have none, so they are recognised here: no NUL byte anywhere, the bytes decode as UTF-8 or
GB18030, no control characters, and then the first non-blank character decides (`<` markup, `{`/`[`
JSON, anything else plain text). SVG and other XML are markup that can carry script and are refused;
archives (zip, rar, 7z... so also zip bombs) and executables are never evidence."""

import codecs
import json
import os
import re
import unicodedata

import filetype

IMAGE = {"image/jpeg": ("jpg", "jpeg"), "image/png": ("png",), "image/gif": ("gif",), "image/webp": ("webp",),
         "image/bmp": ("bmp",), "image/heic": ("heic",)}
PDF = {"application/pdf": ("pdf",)}
VIDEO = {"video/mp4": ("mp4",), "video/quicktime": ("mov",), "video/webm": ("webm",),
         "video/x-matroska": ("mkv",), "video/x-msvideo": ("avi",), "video/x-m4v": ("m4v",),
         "video/3gpp": ("3gp",)}
TEXT = {"text/plain": ("txt", "log", "csv")}
HTML = {"text/html": ("html", "htm", "mhtml")}
JSON = {"application/json": ("json",)}

EXTENSIONS: dict[str, tuple[str, ...]] = {**IMAGE, **PDF, **VIDEO, **TEXT, **HTML, **JSON}

_DOCS = {**IMAGE, **PDF}
_EXPORTS = {**TEXT, **HTML, **JSON}

# The allow-list per kind (API.md evidence kinds). Screenshots may also be a PDF print or a saved page;
# chat logs and records may be exports (text, HTML, JSON); a comparison video is a video.
ALLOWED: dict[str, frozenset[str]] = {
    "order_screenshot": frozenset({**_DOCS, **HTML}),
    "payment_record": frozenset({**_DOCS, **TEXT, **HTML}),
    "product_page": frozenset({**_DOCS, **HTML, **VIDEO}),
    "platform_rules": frozenset({**_DOCS, **TEXT, **HTML}),
    "delivery_record": frozenset({**_DOCS, **_EXPORTS}),
    "error_screenshot": frozenset({**_DOCS, **VIDEO}),
    "comparison_video": frozenset(VIDEO),
    "login_record": frozenset({**_DOCS, **_EXPORTS}),
    "chat_log": frozenset({**_DOCS, **_EXPORTS, **VIDEO}),
    "platform_reply": frozenset({**_DOCS, **_EXPORTS}),
    "bank_statement": frozenset({**_DOCS, **TEXT}),
    "similar_complaints": frozenset({**_DOCS, **TEXT, **HTML}),
    "other": frozenset({**_DOCS, **_EXPORTS, **VIDEO}),
}

# What a download is sent as: markup never as markup (with nosniff and attachment it is only saved).
DOWNLOAD_TYPE = {"text/html": "application/octet-stream"}

SNIFF_BYTES = 64 * 1024
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\x1b"}
_HTML_RE = re.compile(r"<(!doctype\s+html|html|head|body|script|meta|title|div|table|span|p|iframe|style|a|br)\b")
_BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}


def base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _decode(head: bytes, complete: bool) -> tuple[str, str] | None:
    for charset in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(charset)("strict")
        try:
            text = decoder.decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        return text, charset
    return None


def _is_bmp(head: bytes) -> bool:
    return len(head) >= 26 and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES


def sniff(head: bytes, *, complete: bool) -> str:
    """The content type of a file from its first bytes (`complete`: `head` is the whole file).

    Returns a MIME type, with `; charset=` for text; "application/octet-stream" when unknown."""
    if not head:
        return "application/x-empty"
    guess = filetype.guess(head)
    if guess is not None and not (guess.mime == "image/bmp" and not _is_bmp(head)):
        return guess.mime
    if b"\x00" in head:
        return "application/octet-stream"
    decoded = _decode(head, complete)
    if decoded is None:
        return "application/octet-stream"
    text, charset = decoded
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
        return "application/octet-stream"
    start = text.lstrip("\ufeff \t\r\n\f").lower()
    if start.startswith("<"):
        prefix = start[:2048]
        if "<svg" in prefix:
            return "image/svg+xml"
        if start.startswith("<?xml") and not _HTML_RE.search(prefix):
            return "application/xml"
        return f"text/html; charset={charset}"
    if start.startswith(("{", "[")):
        if complete:
            try:
                json.loads(text)
            except ValueError:
                return f"text/plain; charset={charset}"
        return f"application/json; charset={charset}"
    return f"text/plain; charset={charset}"


def is_text(content_type: str) -> bool:
    return base_type(content_type) in _EXPORTS


def allowed(kind: str, content_type: str) -> bool:
    return base_type(content_type) in ALLOWED.get(kind, frozenset())


_UNSAFE = re.compile(r'[<>:"|?*;,\'`$&%#{}\[\]=+!@^~]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def sanitize_name(name: str, content_type: str) -> str:
    """A name that is safe to show and to offer as a download: no directories (../, C:\\), no control or
    shell/markup characters, no leading dot, at most 100 characters of stem, and an extension that
    matches the sniffed type (a PNG called invoice.exe becomes invoice.png)."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, ext = os.path.splitext(name)
    stem = stem.strip(" .")[:100] or "evidence"
    if stem.upper() in _RESERVED:
        stem = f"_{stem}"
    extensions = EXTENSIONS.get(base_type(content_type), ())
    ext = ext.lower().lstrip(".")
    if ext not in extensions:
        ext = extensions[0] if extensions else "bin"
    return f"{stem}.{ext}"
