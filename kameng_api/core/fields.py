"""Serializer fields that turn hostile input into 400s instead of database errors."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class SafePrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key outside bigint's range would be a database error (500); it is a 400 here."""

    default_error_messages = {
        **serializers.PrimaryKeyRelatedField.default_error_messages,
        "does_not_exist": "No such object: {pk_value}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            value = int(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if str(value) != str(data).strip() and not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= value <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(value)


# Bidirectional-text controls (embeddings, overrides, isolates, LRM/RLM) make a name display as something
# else than it is ("abc\u202egnp.exe" shows as "abcexe.png"); no real name needs them.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def no_bidi_controls(value) -> None:
    if isinstance(value, str) and not BIDI_CONTROLS.isdisjoint(value):
        raise ValidationError(_("Names may not contain bidirectional-text control characters (U+202A–U+202E, "
                                "U+2066–U+2069, U+200E, U+200F)."), code="bidi_control")


class NullableChoiceField(serializers.ChoiceField):
    """A code that may be unset: null in the answer, never "" (which no enum of the schema contains)."""

    def __init__(self, **kwargs):
        kwargs["allow_null"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value in ("", None):
            return None
        return super().to_representation(value)


class StrictCharField(serializers.CharField):
    """Text must be sent as a JSON string: DRF would turn 0 or 1.5 into "0" / "1.5", accepting a body that
    does not match the schema (a client bug it should hear about)."""

    default_error_messages = {**serializers.CharField.default_error_messages,
                              "invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose text fields are StrictCharFields."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }
