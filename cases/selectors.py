"""Reads of cases, always through the organization-scoped queryset."""

from django.db import connections
from django.db.models import Exists, JSONField, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from kameng_api.core.actors import Reader

from .models import Case, Claim, Consumer, Merchant, Platform, User

LIST_CLAIMS = "list_claims"


def _claims_array_sql() -> str:
    """The case's claims as one JSON array, rendered as the API shows them (kind, amount as a string with its
    two places, unreasonable) and in their order, `[]` without claims: a correlated subquery of the page's
    own statement, so a list page is one statement, not the page plus a prefetch of its claims."""
    claim, case = Claim._meta.db_table, Case._meta.db_table
    return (f"COALESCE((SELECT json_agg(json_build_object('kind', km_c.kind, "  # noqa: S608 - model metadata only
            f"'amount', km_c.amount::text, 'unreasonable', km_c.unreasonable) ORDER BY km_c.id) "
            f'FROM {claim} km_c WHERE km_c.case_id = "{case}"."id"), \'[]\'::json)')


def _claims_json() -> RawSQL:
    """The claims array as an annotation (the detail, and lists rendered by DRF)."""
    return RawSQL(f"{_claims_array_sql()}::text", [], output_field=JSONField())  # noqa: S611 - constants only


def case_list_row_sql() -> dict[str, str]:
    """For a list row rendered by PostgreSQL (kameng_api/core/rendered.py): the SQL of the fields that are
    not the case's own columns — the merchant's name, the consumer's masked forms (stored beside the
    encrypted values, so nothing is decrypted), the claims as the API shows them."""
    case, merchant, consumer = Case._meta.db_table, Merchant._meta.db_table, Consumer._meta.db_table
    return {
        "merchant_name": f'COALESCE((SELECT km_m.name FROM {merchant} km_m '  # noqa: S608 - model metadata only
                         f'WHERE km_m.id = "{case}"."merchant_id"), \'\')',
        "consumer": f"(SELECT json_build_object('name', km_p.masked_name, 'phone', km_p.masked_phone, "  # noqa: S608
                    f"'id_number', km_p.masked_id_number) FROM {consumer} km_p "
                    f'WHERE km_p.id = "{case}"."consumer_id")',
        "claims": _claims_array_sql(),
    }


def case_list(*, user: Reader, filters: dict | None = None, listing: bool = False) -> QuerySet[Case]:
    """`listing`: only what a list row shows (the merchant's name, the masked consumer, the claims; the
    platform and the assignee are shown as ids), so a page reads no row it does not render."""
    qs = Case.objects.for_user(user)
    qs = (qs.select_related("merchant", "consumer") if listing
          else qs.select_related("platform", "merchant", "consumer", "assignee"))
    if connections[qs.db].vendor == "postgresql":  # the claims in the same statement (a list page, a detail)
        qs = qs.annotate(**{LIST_CLAIMS: _claims_json()})
    else:
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


def case_id_or_404(*, user: Reader, case_id: int | str) -> int:
    """For views that only need to know the case may be seen (its lists): its id, or Http404 — one primary-key
    lookup instead of reading the case with its relations."""
    from django.http import Http404

    found = Case.objects.for_user(user).filter(pk=case_id).values_list("pk", flat=True).first()
    if found is None:
        raise Http404
    return found


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


def consumers_matching(*, kind: str, value: str, organization_id: int | None = None) -> QuerySet[Consumer]:
    """Consumers whose `kind` (phone, id_number, name) is exactly `value`, found by its blind index
    (kameng_api/core/crypto.py): the database compares keyed hashes, never the value."""
    from kameng_api.core.crypto import blind_index

    from .models import BLIND_INDEXES

    digest = blind_index(kind, value)
    if not digest:
        return Consumer.objects.none()
    qs = Consumer.objects.filter(**{BLIND_INDEXES[kind]: digest})
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return qs
