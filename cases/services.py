"""Writes to cases: validate, write inside one transaction, record the event."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import NoReturn

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from kameng_api.core.actors import Actor, ActorLike
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict
from kameng_api.core.preconditions import check_if_match
from kameng_api.core.validators import future_message, is_future

from . import events, rules
from .codes import ClaimKind, EventKind, Role, Status
from .models import (
    ApiKey,
    Case,
    CaseEvent,
    Claim,
    Consumer,
    Merchant,
    Organization,
    Platform,
    ReferenceCounter,
    User,
)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

EDITABLE_FIELDS = (
    "merchant_name", "order_number", "product_type", "face_value", "amount_paid", "payment_channel",
    "purchased_at", "delivered_at", "problem_found_at", "dispute_type", "description", "merchant_promise",
    "fraud_suspected", "waiting_on_consumer", "platform", "deception", "key_redeemed_on_receipt",
    "consumer_is_minor", "for_resale", "consumer_province", "payment_reference", "payee_account",
)


# --- organizations, people, keys -------------------------------------------------------------------

def organization_create(*, slug: str, name: str, kind: str = Organization.Kind.HELPER,
                        level: str = Organization.Level.CITY, address: str = "") -> Organization:
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": _("An organization with this slug already exists.")})
    org = Organization(slug=slug, name=name, kind=kind, level=level, address=address)
    org.full_clean()
    org.save()
    return org


def staff_user_create(*, username: str, organization: Organization, role: str, password: str,
                      email: str = "") -> User:
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role %(role)s.") % {"role": role}})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("A user with this username already exists.")})
    from django.contrib.auth.password_validation import validate_password

    user = User(username=username, organization=organization, role=role, email=email,
                is_staff=role != Role.ANALYST)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    from .roles import sync_role_group

    sync_role_group(user)
    return user


def api_key_create(*, organization: Organization, name: str, can_read_stats: bool = False) -> tuple[ApiKey, str]:
    """Return the key row and the key itself, which is not stored and cannot be shown again."""
    from kameng_api.core.authentication import generate_key, hash_key

    prefix, raw = generate_key()
    key = ApiKey.objects.create(organization=organization, name=name, prefix=prefix, hashed_key=hash_key(raw),
                                can_read_stats=can_read_stats)
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# --- platforms ---------------------------------------------------------------------------------------

def platform_save(*, actor: ActorLike, platform: Platform | None = None, data: dict, if_match: str | None = None) -> Platform:
    if platform is not None and if_match is not None:
        with transaction.atomic():
            check_if_match(Platform.objects.select_for_update().get(pk=platform.pk), if_match, what=_("platform"))
    platform = platform or Platform()
    for field, value in data.items():
        setattr(platform, field, value)
    if Platform.objects.filter(name=platform.name).exclude(pk=platform.pk).exists():
        raise ValidationError({"name": _("A platform with this name already exists.")})
    with transaction.atomic():
        platform.save()
        audit_record(actor=actor, action="platform_save", obj=platform, detail={"fields": sorted(data)})
    return platform


# --- cases -------------------------------------------------------------------------------------------

def case_event_record(*, case: Case, actor: ActorLike | None, kind: str, note: str = "", data: dict | None = None,
                      from_status: str = "", to_status: str = "", occurred_at: datetime | None = None) -> CaseEvent:
    event = CaseEvent.objects.create(
        case=case, kind=kind, note=note, data=data or {}, from_status=from_status, to_status=to_status,
        occurred_at=occurred_at or timezone.now(), **Actor.of(actor).fks(),
    )
    events.case_event_recorded.send(sender=CaseEvent, event=event)
    return event


def _next_reference(now: datetime) -> str:
    year = timezone.localtime(now).year
    table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
    for _attempt in range(3):
        with connection.cursor() as cursor:  # one statement: the increment returns the number it allocated
            cursor.execute(f'UPDATE {table} SET "last" = "last" + 1 WHERE "year" = %s RETURNING "last"',  # noqa: S608
                           [year])
            row = cursor.fetchone()
        if row is not None:
            return f"KM-{year}-{row[0]:06d}"
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last=1)
            return f"KM-{year}-{1:06d}"
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a case reference")


def _validate_times(data: dict, now: datetime) -> None:
    errors = {}
    for field in ("purchased_at", "delivered_at", "problem_found_at"):
        value = data.get(field)
        if value is None:
            continue
        if is_future(value, now):
            errors[field] = future_message()
        elif value < EARLIEST:
            errors[field] = _("This time is before 2000; check the date.")
    purchased, delivered, found = data.get("purchased_at"), data.get("delivered_at"), data.get("problem_found_at")
    if purchased and delivered and delivered < purchased and "delivered_at" not in errors:
        errors["delivered_at"] = _("Delivery cannot be before the purchase.")
    if purchased and found and found < purchased and "problem_found_at" not in errors:
        errors["problem_found_at"] = _("The problem cannot be found before the purchase.")
    if errors:
        raise ValidationError(errors)


def _checked_claims(claims: list[dict], *, dispute_type: str, amount_paid: Decimal, deception: str = "",
                    fraud_suspected: bool = False) -> list[Claim]:
    """The claim rules of PRODUCT.md: one per kind; refund up to the price; punitive only for fraud and
    at the statutory amount (CPL art. 55); a claim far beyond the loss is flagged (seed 000)."""
    if not claims:
        raise ValidationError({"claims": _("Say what the consumer asks for: at least one claim.")})
    kinds = [c["kind"] for c in claims]
    if len(kinds) != len(set(kinds)):
        raise ValidationError({"claims": _("Each kind of claim may appear once.")})
    ratio = settings.KAMENG_UNREASONABLE_CLAIM_RATIO
    result = []
    for claim in claims:
        kind, amount = claim["kind"], claim.get("amount")
        if kind == ClaimKind.PUNITIVE:
            if not rules.has_deception(dispute_type=dispute_type, deception=deception,
                                       fraud_suspected=fraud_suspected):
                raise ValidationError({"claims": _(
                    "Punitive damages (退一赔三, Consumer Rights Protection Law art. 55) need deception by the "
                    "merchant (欺诈: false advertising, concealment, or taking the money and vanishing): record "
                    "it in `deception` or `fraud_suspected`, with evidence of it."
                )})
            statutory = rules.punitive_amount(amount_paid)
            if amount is not None and amount != statutory:
                raise ValidationError({"claims": _(
                    "Punitive damages under art. 55 are three times the price, at least 500 CNY: "
                    "%(amount)s CNY for this order."
                ) % {"amount": statutory}})
            amount = statutory
        elif kind == ClaimKind.REDELIVERY:
            if amount not in (None, Decimal(0)):
                raise ValidationError({"claims": _("A re-delivery claim has no amount.")})
            amount = None
        elif amount is None or amount <= 0:
            raise ValidationError({"claims": _("A %(kind)s claim needs an amount above zero.") % {"kind": kind}})
        elif kind == ClaimKind.REFUND and amount > amount_paid:
            raise ValidationError({"claims": _(
                "A refund cannot exceed the amount paid (%(paid)s CNY)."
            ) % {"paid": amount_paid}})
        result.append(Claim(kind=kind, amount=amount,
                            unreasonable=rules.is_unreasonable(kind, amount, amount_paid, ratio)))
    return result


def _merchant_for(platform: Platform, name: str) -> Merchant | None:
    name = (name or "").strip()
    if not name:
        return None
    merchant, _created = Merchant.objects.get_or_create(platform=platform, name=name)
    return merchant


def _known_claims(case: Case, claims: list[Claim]) -> None:
    """The claims just written, kept on the case as a prefetch would (in id order), so that rendering the new
    case does not read them back."""
    rows = Claim.objects.filter(case=case)
    rows._result_cache = sorted(claims, key=lambda c: c.pk or 0)
    rows._prefetch_done = True  # type: ignore[attr-defined]  # Django's private prefetch flag, set as prefetch_related does
    case._prefetched_objects_cache = {"claims": rows}  # type: ignore[attr-defined]  # Django's private prefetch cache


def _raise_duplicate(existing: Case) -> NoReturn:
    raise Conflict(
        _("A case for this order number on this platform already exists: %(ref)s (id %(id)s).")
        % {"ref": existing.reference, "id": existing.pk},
        code="duplicate_case",
    )


def case_create(*, actor: ActorLike, data: dict) -> Case:
    """Register a complaint. `data` is the validated payload of the case serializer."""
    now = timezone.now()
    organization_id = Actor.of(actor).organization_id
    if organization_id is None:  # a staff user of no organization (a superuser) files for none
        raise PermissionDenied
    _validate_times(data, now)
    claims = _checked_claims(data.get("claims") or [], dispute_type=data["dispute_type"],
                             amount_paid=data["amount_paid"], deception=data.get("deception", ""),
                             fraud_suspected=data.get("fraud_suspected", False))
    platform = data["platform"]
    # A duplicate (same organization, platform and order number) is refused by the unique constraint: the
    # insert below fails and the handler names the existing case, so the usual path reads nothing first.
    consumer_data = data["consumer"]
    try:
        with transaction.atomic():
            consumer = Consumer.objects.create(organization_id=organization_id, **consumer_data)
            case = Case.objects.create(
                organization_id=organization_id,
                reference=_next_reference(now),
                platform=platform,
                merchant=_merchant_for(platform, data.get("merchant_name", "")),
                consumer=consumer,
                filed_by_key=Actor.of(actor).api_key,
                created_by=Actor.of(actor).user,
                **{f: data[f] for f in (
                    "order_number", "product_type", "face_value", "amount_paid", "payment_channel",
                    "purchased_at", "delivered_at", "problem_found_at", "dispute_type", "description",
                    "merchant_promise", "fraud_suspected", "deception", "key_redeemed_on_receipt",
                    "consumer_is_minor", "for_resale", "consumer_province", "payment_reference", "payee_account",
                ) if f in data},
            )
            for claim in claims:
                claim.case = case
            Claim.objects.bulk_create(claims)
            _known_claims(case, claims)
            case_event_record(case=case, actor=actor, kind=EventKind.CREATED, to_status=case.status,
                              occurred_at=now)
            events.case_created.send(sender=Case, case=case)
            audit_record(actor=actor, action="case_create", obj=case)
    except IntegrityError:
        existing = Case.objects.filter(organization_id=organization_id, platform=platform,
                                       order_number=data["order_number"]).first()
        if existing is None:
            raise
        _raise_duplicate(existing)
    return case


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("platform", "consumer").get(pk=case.pk)


def _check_if_match(case: Case, if_match: str | None) -> None:
    if if_match and if_match.strip() not in ("*", case.etag, f"W/{case.etag}"):
        raise Conflict(_("The case was changed by someone else (If-Match is stale); reload it and retry."),
                       code="stale_if_match")


def case_update(*, actor: ActorLike, case: Case, data: dict, if_match: str | None = None, note: str = "",
                at: datetime | None = None) -> Case:
    """Correct a case. Setting or clearing `waiting_on_consumer` also stops or restarts every open clock
    (escalation's `deadlines_follow_waiting`), so no caller can set the flag without the clocks."""
    now = timezone.now()
    with transaction.atomic():
        case = _locked(case)
        _check_if_match(case, if_match)
        if not case.is_open:
            raise Conflict(_("A closed case (%(status)s) cannot be changed.") % {"status": case.status},
                           code="case_closed")
        merged = {f: getattr(case, f) for f in ("purchased_at", "delivered_at", "problem_found_at")}
        merged.update({k: v for k, v in data.items() if k in merged})
        _validate_times(merged, now)
        changed = []
        consumer_data = data.pop("consumer", None)
        claims_data = data.pop("claims", None)
        if "merchant_name" in data:
            case.merchant = _merchant_for(data.get("platform", case.platform), data.pop("merchant_name"))
            changed.append("merchant_name")
        for field, value in data.items():
            if field in EDITABLE_FIELDS and getattr(case, field) != value:
                setattr(case, field, value)
                changed.append(field)
        if consumer_data:
            for field, value in consumer_data.items():
                setattr(case.consumer, field, value)
            case.consumer.save()
            changed.append("consumer")
        if claims_data is not None or {"amount_paid", "dispute_type", "deception", "fraud_suspected"} & set(changed):
            current = claims_data if claims_data is not None else [
                {"kind": c.kind, "amount": c.amount} for c in case.claims.all()
            ]
            if {"amount_paid"} & set(changed):
                current = [c if c["kind"] != ClaimKind.PUNITIVE else {"kind": c["kind"], "amount": None}
                           for c in current]
            claims = _checked_claims(current, dispute_type=case.dispute_type, amount_paid=case.amount_paid,
                                     deception=case.deception, fraud_suspected=case.fraud_suspected)
            case.claims.all().delete()
            for claim in claims:
                claim.case = case
            Claim.objects.bulk_create(claims)
            _known_claims(case, claims)
            if claims_data is not None:
                changed.append("claims")
        if not changed:
            return case
        if Case.objects.filter(organization_id=case.organization_id, platform=case.platform,
                               order_number=case.order_number).exclude(pk=case.pk).exists():
            _raise_duplicate(Case.objects.get(organization_id=case.organization_id, platform=case.platform,
                                              order_number=case.order_number))
        case.version = F("version") + 1
        case.save()
        case.refresh_from_db()
        if {"delivered_at", "problem_found_at", "platform"} & set(changed):
            events.case_corrected.send(sender=Case, case=case, fields=set(changed))
        if "waiting_on_consumer" in changed:
            events.case_waiting_changed.send(sender=Case, case=case, actor=actor,
                                             waiting=case.waiting_on_consumer, note=note, at=at)
        case_event_record(case=case, actor=actor, kind=EventKind.UPDATED, note=note,
                          data={"fields": sorted(changed)})
    return case


def recovered_too_large(amount_paid: Decimal) -> str:
    return _("More than the price back plus the punitive damages of art. 55 (%(limit)s CNY): check the figure.") % {
        "limit": rules.recovered_limit(amount_paid)}


def case_transition(*, actor: ActorLike, case: Case, to: str, note: str = "", outcome: dict | None = None,
                    if_match: str | None = None, escalation: bool = False) -> Case:
    """Move the case along the state machine (cases/rules.py); an illegal move is a 409 naming the
    allowed ones, and reaching the legal level needs a supervisor."""
    with transaction.atomic():
        case = _locked(case)
        _check_if_match(case, if_match)
        allowed = rules.allowed_targets(case.status)
        if to not in allowed and not (escalation and rules.escalation_allows(case.status, to)):
            names = ", ".join(allowed) or _("none: the case is closed")
            raise Conflict(
                _("Cannot move a case from %(from)s to %(to)s. Allowed from %(from)s: %(allowed)s.")
                % {"from": case.status, "to": to, "allowed": names},
                code="illegal_transition",
            )
        if to in rules.SUPERVISOR_ONLY_TARGETS and Actor.of(actor).role != Role.SUPERVISOR:
            raise PermissionDenied(_("Only a supervisor may approve the legal level."))
        outcome = outcome or {}
        if outcome and to != Status.RESOLVED:
            raise ValidationError({"outcome": _("An outcome is recorded only when the case is resolved.")})
        from_status = case.status
        case.status = to
        if to == Status.RESOLVED:
            if not outcome.get("outcome"):
                raise ValidationError({"outcome": _("Say how the case ended: favourable, partial or unfavourable.")})
            recovered = outcome.get("amount_recovered")
            if recovered is not None and recovered > rules.recovered_limit(case.amount_paid):
                raise ValidationError({"amount_recovered": recovered_too_large(case.amount_paid)})
            case.outcome = outcome["outcome"]
            case.amount_recovered = recovered
            case.resolution = outcome.get("resolution", "")
            case.consumer_rating = outcome.get("consumer_rating")
        if to in (Status.RESOLVED, Status.REJECTED, Status.WITHDRAWN):
            case.closed_at = timezone.now()
            case.waiting_on_consumer = False
            events.case_closed.send(sender=Case, case=case)
        case.version = F("version") + 1
        case.save()
        case.refresh_from_db()
        case_event_record(case=case, actor=actor, kind=EventKind.STATUS_CHANGED, from_status=from_status,
                          to_status=to, note=note, data={k: str(v) for k, v in outcome.items() if v is not None})
    return case


def case_assign(*, actor: ActorLike, case: Case, assignee_id: int | None, note: str = "") -> Case:
    from .selectors import assignable_users

    with transaction.atomic():
        case = _locked(case)
        assignee = None
        if assignee_id is not None:
            assignee = assignable_users(organization_id=case.organization_id).filter(pk=assignee_id).first()
            if assignee is None:
                raise ValidationError({"assignee": _(
                    "No intake, handler or supervisor with this id in your organization."
                )})
        if case.assignee_id == (assignee.pk if assignee else None):
            return case
        case.assignee = assignee
        case.version = F("version") + 1
        case.save()
        case.refresh_from_db()
        case_event_record(case=case, actor=actor, kind=EventKind.ASSIGNED, note=note,
                          data={"assignee": assignee.get_username() if assignee else None})
    return case


def consumer_read_logged(*, actor: ActorLike, case: Case, request: HttpRequest | None = None) -> None:
    """PIPL: every read of a consumer's unmasked personal data is audit-logged."""
    audit_record(actor=actor, action="pii_read", obj=case.consumer, detail={"case": case.reference},
                 request=request)


def merchant_save(*, actor: ActorLike, merchant: Merchant) -> Merchant:
    """A merchant of the shared registry entered or corrected in the admin (cases create them by name)."""
    merchant.full_clean()
    with transaction.atomic():
        merchant.save()
        audit_record(actor=actor, action="merchant_save", obj=merchant,
                     detail={"platform": merchant.platform_id, "unreachable": merchant.unreachable})
    return merchant
