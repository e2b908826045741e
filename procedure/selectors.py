"""Reads of the procedure, always through the organization-scoped case queryset."""

from __future__ import annotations

from datetime import date, datetime
from statistics import median

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from cases.models import Case
from kameng_api.core.actors import Reader

from .codes import Decision, RefusalGround, Stage
from .models import IssuedDocument, MediationSession, Procedure, PublicInterestFile


def procedure_of(*, case: Case) -> Procedure | None:
    return (Procedure.objects.select_related("acceptance_rule", "mediation_rule", "case", "case__merchant",
                                             "case__platform", "decided_by", "approved_by")
            .prefetch_related("sessions", "pauses").filter(case=case).first())


def session_list(*, user: Reader) -> QuerySet[MediationSession]:
    return MediationSession.objects.filter(procedure__case__in=Case.objects.for_user(user)).select_related(
        "procedure")


def document_list(*, case: Case) -> QuerySet[IssuedDocument]:
    return IssuedDocument.objects.filter(case=case).order_by("issued_at", "pk")


def document_get(*, case: Case, document_id: int | str) -> IssuedDocument | None:
    return IssuedDocument.objects.filter(case=case, pk=document_id).first()


def public_interest_list(*, user: Reader) -> QuerySet[PublicInterestFile]:
    org = getattr(user, "organization_id", None)
    if org is None:
        return PublicInterestFile.objects.none()
    return (PublicInterestFile.objects.filter(organization_id=org).prefetch_related("victims")
            .annotate(victim_count=Count("victims")))


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 1)


def procedure_stats(*, organization_id: int, date_from: date | None = None, date_to: date | None = None) -> dict:
    """The organization's own figures over the complaints registered in the period: accepted vs refused (by
    ground), forwarded, mediated to agreement, terminated, agreements performed on time, acceptance decided
    on time, median days to acceptance and to close."""
    qs = Procedure.objects.filter(case__organization_id=organization_id)
    if date_from:
        qs = qs.filter(registered_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(registered_at__date__lte=date_to)
    totals = qs.aggregate(
        registered=Count("pk"),
        accepted=Count("pk", filter=Q(decision=Decision.ACCEPT, stage__in=[
            Stage.ACCEPTED, Stage.AGREEMENT, Stage.PERFORMED, Stage.TERMINATED])),
        refused=Count("pk", filter=Q(stage=Stage.REFUSED)),
        forwarded=Count("pk", filter=Q(stage=Stage.FORWARDED)),
        pending=Count("pk", filter=Q(stage__in=[Stage.REGISTERED, Stage.REFUSAL_PROPOSED])),
        mediating=Count("pk", filter=Q(stage=Stage.ACCEPTED)),
        agreements=Count("pk", filter=Q(stage__in=[Stage.AGREEMENT, Stage.PERFORMED])),
        performed=Count("pk", filter=Q(stage=Stage.PERFORMED)),
        performed_on_time=Count("pk", filter=Q(stage=Stage.PERFORMED, performed_at__date__lte=F("agreement_pay_by"))),
        agreements_overdue=Count("pk", filter=Q(stage=Stage.AGREEMENT,
                                                agreement_pay_by__lt=timezone.localdate())),
        terminated=Count("pk", filter=Q(stage=Stage.TERMINATED)),
        decided_on_time=Count("pk", filter=Q(stage__in=[Stage.ACCEPTED, Stage.AGREEMENT, Stage.PERFORMED,
                                                        Stage.TERMINATED, Stage.REFUSED, Stage.FORWARDED],
                                             decided_at__lte=F("acceptance_due_at"))),
        lawsuits_supported=Count("pk", filter=Q(support__status="approved")),
    )
    by_ground = dict(qs.filter(stage=Stage.REFUSED).values_list("refusal_ground").annotate(n=Count("pk")))
    totals["refused_by_ground"] = {ground: by_ground.get(ground, 0) for ground in RefusalGround.values}
    decided = list(qs.filter(decided_at__isnull=False).exclude(stage=Stage.REFUSAL_PROPOSED)
                   .values_list("registered_at", "decided_at"))
    closed = list(qs.filter(closed_at__isnull=False).values_list("registered_at", "closed_at"))
    totals["median_days_to_acceptance"] = median([_days(a, b) for a, b in decided if b is not None]) if decided else None
    totals["median_days_to_close"] = median([_days(a, b) for a, b in closed if b is not None]) if closed else None
    return totals
