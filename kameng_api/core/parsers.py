"""The JSON parser of every endpoint: bounded in size and depth, and strict about Unicode, so hostile
bodies are 4xx answers (API.md, "Errors") and never reach a serializer."""

import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .exceptions import RequestTooLarge

# No request body of the API nests deeper than a few levels (a case: case → claims → claim → amount).
MAX_DEPTH = 32


def _check(data) -> None:
    """Iterative walk (a recursive one would itself overflow on hostile input): depth and lone surrogates."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            value.encode("utf-8")
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ParseError(_("JSON parse error - nested more than %(max)s levels deep.") % {"max": MAX_DEPTH},
                                 code="too_deep")
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                if key is not None:
                    key.encode("utf-8")
                stack.append((item, depth + 1))


def read_limited(stream, limit: int | None) -> bytes:
    """The body, refused with 413 once it passes DATA_UPLOAD_MAX_MEMORY_SIZE (the same limit as forms)."""
    if stream is None:
        return b""
    if limit is None:
        return stream.read()
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestTooLarge()
    return body


class StrictJSONParser(JSONParser):
    """JSON over the size limit is a 413; nested beyond MAX_DEPTH, or with text that cannot be stored as
    UTF-8 (lone surrogates such as "\\ud800"), a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            data = json.loads(text, parse_constant=self._refuse_constant)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested more than %(max)s levels deep.") % {"max": MAX_DEPTH},
                             code="too_deep") from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
        try:
            _check(data)
        except UnicodeEncodeError:
            raise ParseError(_("JSON parse error - text must be valid Unicode (no lone surrogates).")) from None
        return data

    @staticmethod
    def _refuse_constant(name):
        raise ValueError(f"Out of range float values are not JSON compliant: {name}")
