"""A model field whose value is stored encrypted (`kameng_api.core.crypto`): the database, its backups and
replicas hold only Fernet tokens; Python code reads and writes plain strings.

An encrypted column cannot be searched or ordered (each encryption of a value differs): search goes through
a blind index column beside it. Lookups other than `isnull` are refused, so no query silently compares a
plain value with tokens."""

from django.core.exceptions import FieldError
from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    description = "Text stored encrypted (Fernet)"

    def from_db_value(self, value, expression, connection):
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return crypto.encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name not in ("isnull",):
            raise FieldError(f"'{self.name}' is encrypted: search by its blind index, not by '{lookup_name}'.")
        return super().get_lookup(lookup_name)
