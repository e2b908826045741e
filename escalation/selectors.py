"""Reads of the escalation app, always through the organization-scoped case queryset."""

from django.db.models import F, QuerySet
from django.utils import timezone

from cases.selectors import case_visible
from kameng_api.core.actors import Reader

from .codes import DeadlineStatus
from .models import Deadline, Escalation


def escalation_list(*, user: Reader, case_id: int | None = None) -> QuerySet[Escalation]:
    qs = Escalation.objects.filter(case_visible(user=user)).select_related("approved_by", "created_by")
    if case_id is not None:
        qs = qs.filter(case_id=case_id)
    return qs


def escalation_get(*, user: Reader, escalation_id: int | str) -> Escalation:
    """Escalation.DoesNotExist (a 404) for another organization's escalation."""
    return escalation_list(user=user).get(pk=escalation_id)


def deadline_list(*, user: Reader, open_only: bool = True) -> QuerySet[Deadline]:
    # The row shows its case's reference, the escalation's id and the rule version: the reference comes as an
    # annotation, not the whole case row (and the escalation's) joined and built into objects for every row.
    qs = (Deadline.objects.filter(case_visible(user=user)).select_related("rule_version")
          .defer("rule_version__quote", "rule_version__note", "rule_version__source_url")
          .annotate(case_reference=F("case__reference")))
    if open_only:
        qs = qs.filter(status=DeadlineStatus.OPEN)
    return qs


def deadline_get(*, user: Reader, deadline_id: int | str) -> Deadline:
    return deadline_list(user=user, open_only=False).get(pk=deadline_id)


def overdue(qs: QuerySet[Deadline], flag: bool) -> QuerySet[Deadline]:
    now = timezone.now()
    return qs.filter(due_at__lt=now) if flag else qs.filter(due_at__gte=now)
