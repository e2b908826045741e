"""The language families documents (letters, the bundle's letter) are written in: Simplified Chinese, and
English for reference."""

DOCUMENT_LANGS = ("zh-hans", "en")
