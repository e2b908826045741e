"""Reads of cases, always through the organization-scoped queryset."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from kameng_api.core.actors import Reader

from .models import Case, Merchant, Platform, User


def case_list(*, user: Reader, filters: dict | None = None, listing: bool = False) -> QuerySet[Case]:
    """`listing`: only what a list row shows (the merchant's name, the masked consumer, the claims; the
    platform and the assignee are shown as ids), so a page reads no row it does not render."""
    qs = Case.objects.for_user(user)
    qs = (qs.select_related("merchant", "consumer") if listing
          else qs.select_related("platform", "merchant", "consumer", "assignee"))
    qs = qs.prefetch_related("claims")
    if filters:
        from .filters import CaseFilter

        qs = CaseFilter(filters, queryset=qs).qs
    return qs


def case_visible(*, user: Reader, outer: str = "case_id") -> Exists:
    """A filter for rows of other tables whose case `user` may see (`outer` names their case column).
    A correlated EXISTS lets the database check only the rows a page reads, by primary key, where
    `case_id IN (the organization's cases)` makes SQLite gather every id of the organization first."""
    return Exists(Case.objects.for_user(user).filter(pk=OuterRef(outer)))


def case_get(*, user: Reader, case_id: int | str) -> Case:
    """The case if `user` may see it; Case.DoesNotExist (a 404) otherwise, whatever the reason."""
    return case_list(user=user).get(pk=case_id)


def case_get_or_404(*, user: Reader, case_id: int | str) -> Case:
    """For views: the case, or Http404 — also when it belongs to another organization."""
    from django.http import Http404

    try:
        return case_get(user=user, case_id=case_id)
    except Case.DoesNotExist:
        raise Http404 from None


def platform_list() -> QuerySet[Platform]:
    return Platform.objects.all()


def merchant_list(*, platform_id: int | None = None, search: str = "") -> QuerySet[Merchant]:
    qs = Merchant.objects.select_related("platform")
    if platform_id:
        qs = qs.filter(platform_id=platform_id)
    if search:
        qs = qs.filter(Q(name__icontains=search))
    return qs


def assignable_users(*, organization_id: int) -> QuerySet[User]:
    from .codes import Role

    return User.objects.filter(
        organization_id=organization_id, is_active=True, role__in=(Role.INTAKE, Role.HANDLER, Role.SUPERVISOR)
    )
