"""The names the statistics SQL is written with, read from the models' metadata, so renaming a table or a
column (or adding a status: the per-status columns come from the code enums) needs no edit of an SQL string.

`T.<model name>` is the table of a stats model (`T.casefact`, `T.daysummary`, ...); `CASE_TABLE` and
`ESCALATION_TABLE` are the tables the facts are computed from, and `case_columns(alias)` /
`escalation_columns(alias)` their columns as `alias.column`."""

from types import SimpleNamespace

from django.db import models

from cases.models import Case
from escalation.models import Escalation

from . import models as stats_models


def _tables() -> SimpleNamespace:
    found: dict[str, str] = {}
    for value in vars(stats_models).values():
        if isinstance(value, type) and issubclass(value, models.Model) and not value._meta.abstract \
                and value._meta.app_label == "stats":
            found[str(value._meta.model_name)] = value._meta.db_table
    return SimpleNamespace(**found)


T = _tables()

CASE_TABLE = Case._meta.db_table
ESCALATION_TABLE = Escalation._meta.db_table


def column(model: type[models.Model], field: str) -> str:
    return model._meta.get_field(field).column  # type: ignore[union-attr,return-value]  # a concrete field, never a reverse relation


def _columns(model: type[models.Model], alias: str, fields: tuple[str, ...]) -> SimpleNamespace:
    return SimpleNamespace(**{name: f"{alias}.{column(model, name)}" for name in fields})


def case_columns(alias: str) -> SimpleNamespace:
    """The case columns the facts read: `case_columns("c").organization` is `c.organization_id`."""
    return _columns(Case, alias, (
        "id", "organization", "platform", "merchant", "created_at", "updated_at", "closed_at", "product_type",
        "dispute_type", "status", "outcome", "amount_paid", "amount_recovered", "consumer_rating",
    ))


def escalation_columns(alias: str) -> SimpleNamespace:
    return _columns(Escalation, alias, (
        "case", "level", "channel", "outcome", "submitted_at", "responded_at", "due_at", "updated_at",
    ))
