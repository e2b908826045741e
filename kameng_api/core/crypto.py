"""Personal data at rest (PIPL art. 51): authenticated encryption and blind indexes.

- Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) through MultiFernet:
  the first key of KAMENG_DATA_KEYS encrypts, every key decrypts, so a new key is put first, the rows
  are re-encrypted (`manage.py rotate_data_keys`) and the old key is removed afterwards.
- Exact search and duplicate detection use a blind index: HMAC-SHA256 of the normalized value under a
  separate key (KAMENG_BLIND_INDEX_KEY), so rotating the data keys never changes an index, and the index
  says nothing about the value without that key.
- With neither variable set (the embedded default, `make run`) a key file is generated under var/ on
  first use and the log says so; production settings refuse to start without them.

Nothing here logs, raises or returns a plain value in an error.
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("kameng.crypto")

# A Fernet token starts with its version byte 0x80, "gAAAAA" in URL-safe base64.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (not a secret)


class DecryptionFailed(Exception):
    """A stored value no key decrypts (a missing or wrong KAMENG_DATA_KEYS). Carries no value."""


def _key_file() -> Path:
    return Path(getattr(settings, "KAMENG_DATA_KEY_FILE", "") or Path(settings.BASE_DIR) / "var" / "data-keys.json")


def _generated_keys() -> tuple[list[str], str]:
    """The embedded default's keys: read from the key file, created (mode 0600) on first use."""
    path = _key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = {"data_keys": [Fernet.generate_key().decode()],
                "blind_index_key": base64.urlsafe_b64encode(os.urandom(32)).decode()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keys, f)
        logger.warning("No KAMENG_DATA_KEYS set: generated personal data keys in %s. Keep this file (without it "
                       "the stored personal data cannot be read) and set KAMENG_DATA_KEYS and "
                       "KAMENG_BLIND_INDEX_KEY in production.", path)
    keys = json.loads(path.read_text())
    return keys["data_keys"], keys["blind_index_key"]


@lru_cache(maxsize=1)
def _keys() -> tuple[tuple[str, ...], bytes]:
    data_keys = [k.strip() for k in getattr(settings, "KAMENG_DATA_KEYS", []) if k.strip()]
    blind_key = (getattr(settings, "KAMENG_BLIND_INDEX_KEY", "") or "").strip()
    if not data_keys or not blind_key:
        generated, generated_blind = _generated_keys()
        data_keys = data_keys or generated
        blind_key = blind_key or generated_blind
    for key in data_keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                "KAMENG_DATA_KEYS: every key must be a Fernet key (32 bytes, URL-safe base64; "
                "make one with `python manage.py rotate_data_keys --new-key`).") from None
    if len(blind_key) < 32:
        raise ImproperlyConfigured("KAMENG_BLIND_INDEX_KEY must be at least 32 characters of random data.")
    return tuple(data_keys), blind_key.encode()


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys()[0]])


@lru_cache(maxsize=1)
def _current() -> Fernet:
    return Fernet(_keys()[0][0])


def reset_keys() -> None:
    """Forget the cached keys (after the settings changed: tests, the rotation command)."""
    _keys.cache_clear()
    _fernet.cache_clear()
    _current.cache_clear()


def check_keys() -> None:
    """Raise ImproperlyConfigured if the configured keys are unusable."""
    _fernet()
    _keys()


def encrypt(value: str) -> str:
    """The token of `value` under the first key ("" stays "": nothing to hide, and blank checks keep working)."""
    if value is None or value == "":
        return value
    return _fernet().encrypt(str(value).encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if token is None or token == "":
        return token
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError, ValueError):
        raise DecryptionFailed(
            "A stored personal data value could not be decrypted with any key of KAMENG_DATA_KEYS "
            "(a key was removed before `rotate_data_keys` finished, or the keys are wrong).") from None


def is_current(token: str) -> bool:
    """Is `token` encrypted under the first (current) key?"""
    if not token:
        return True
    try:
        _current().decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """The same value under the current key (MultiFernet.rotate)."""
    if not token:
        return token
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise DecryptionFailed("A stored personal data value could not be decrypted with any key "
                               "of KAMENG_DATA_KEYS.") from None


# Normalization: what counts as "the same" value for an exact search.
def normalize_phone(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def normalize_id_number(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def normalize_text(value: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value or "")).strip()


NORMALIZERS = {"phone": normalize_phone, "id_number": normalize_id_number, "name": normalize_text,
               "payment_account": normalize_text}


def blind_index(kind: str, value: str) -> str:
    """HMAC-SHA256 (hex) of the normalized value, keyed by KAMENG_BLIND_INDEX_KEY and the kind of value;
    "" for an empty value (no index entry)."""
    normalized = NORMALIZERS[kind](value)
    if not normalized:
        return ""
    message = f"{kind}:{normalized}".encode()
    return hmac.new(_keys()[1], message, hashlib.sha256).hexdigest()


def new_data_key() -> str:
    return Fernet.generate_key().decode()


def _settings_changed(*, setting, **kwargs):
    if setting in ("KAMENG_DATA_KEYS", "KAMENG_BLIND_INDEX_KEY", "KAMENG_DATA_KEY_FILE"):
        reset_keys()


def _connect():
    from django.core.signals import setting_changed

    setting_changed.connect(_settings_changed, dispatch_uid="kameng-crypto-keys")


_connect()
