from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _check(value):
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key)
            _check(item)
    elif isinstance(value, list):
        for item in value:
            _check(item)


class StrictJSONParser(JSONParser):
    """JSON that cannot be stored as UTF-8 (lone surrogates such as "\\ud800") is a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            _check(data)
        except UnicodeEncodeError:
            raise ParseError(_("JSON parse error - text must be valid Unicode (no lone surrogates).")) from None
        return data
