"""Serializer fields that turn hostile input into 400s instead of database errors."""

from django.core.validators import MaxValueValidator, MinValueValidator
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


def amount_validators(max_value):
    return [MinValueValidator(0), MaxValueValidator(max_value)]
