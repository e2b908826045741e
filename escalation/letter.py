"""The complaint letter of a channel: the document of that channel, rendered from its template
(escalation/documents.py). `letter_text(case, lang, channel)` is kept for the `letter/` endpoint and the
evidence bundle; the consumer is named, the ID number never appears."""

from __future__ import annotations

from django.utils.translation import gettext

from .codes import LEVEL_OF_CHANNEL
from .documents import LANGS, DocumentError, document_text, kind_of_channel
from .words import ZH_NAMES

__all__ = ["LANGS", "ZH_NAMES", "LetterError", "letter_text"]

LetterError = DocumentError


def letter_text(case, lang: str = "zh-hans", channel: str | None = None) -> str:
    """The letter for `channel` (default: the recommended one) in `lang` (zh-hans | en)."""
    if lang not in LANGS:
        raise LetterError("lang", gettext("Unknown language %(lang)s: use zh-hans or en.") % {"lang": repr(lang)})
    if channel is None:
        from .recommendation import recommend

        channel = recommend(case, lang=lang)["channel"]
    if channel not in LEVEL_OF_CHANNEL:
        raise LetterError("channel", gettext("Unknown channel %(channel)s.") % {"channel": repr(channel)})
    return document_text(case=case, kind=kind_of_channel(channel), lang=lang, channel=channel)
