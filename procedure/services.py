"""Writes of the organization's procedure. Each validates, writes inside one transaction, records the case
event (so webhooks hear of it: `case.acceptance_decided`, `case.mediation_agreement`, ...) and issues the
step's document. Refusals and support to sue need a supervisor: a handler's refusal or support is recorded
as proposed and takes effect (with its document) when a supervisor approves it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.codes import EventKind
from cases.models import Case, Organization, Platform
from cases.services import case_event_record
from escalation.calendar import Calendar, local_date
from escalation.lawbook import RuleBook
from kameng_api.core.access import may
from kameng_api.core.actors import Actor, ActorLike
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict
from kameng_api.core.snapshots import Snapshot

from . import rules
from .codes import (
    Decision,
    DocumentKind,
    RefusalGround,
    Stage,
    SupportStatus,
    Track,
)
from .models import (
    IssuedDocument,
    LawsuitSupport,
    MediationSession,
    Pause,
    Procedure,
    PublicInterestFile,
    Victim,
)

CLOCK_SKEW = timedelta(minutes=5)
MAX_AMOUNT = Decimal("100000000")
MAX_PAY_DAYS = 366
TRACK_OF_KIND: dict[str, str] = {Organization.Kind.CONSUMER_ASSOCIATION: Track.CONSUMER_ASSOCIATION,
                                 Organization.Kind.MARKET_REGULATOR: Track.MARKET_REGULATOR}


def track_of(organization: Organization) -> str | None:
    return TRACK_OF_KIND.get(organization.kind)


def _load_kinds() -> dict[int, str]:
    return dict(Organization.objects.values_list("id", "kind"))


# Every new case asks whether its organization runs a procedure: the organizations' types, kept per process
# until an organization is saved or deleted (kameng_api/core/snapshots.py; renewed in procedure/apps.py).
ORGANIZATION_KINDS: Snapshot[dict[int, str]] = Snapshot("organization-kinds", _load_kinds)


def _track_of_case(case: Case) -> str | None:
    if Case.organization.is_cached(case):
        return track_of(case.organization)
    kind = ORGANIZATION_KINDS.get().get(case.organization_id)
    if kind is None:  # an organization newer than the snapshot
        kind = Organization.objects.values_list("kind", flat=True).get(pk=case.organization_id)
    return TRACK_OF_KIND.get(kind)


# --- opening and clocks -------------------------------------------------------------------------------------

def _recount(proc: Procedure, cal: Calendar) -> None:
    due, provisional = rules.clock_due(start=proc.registered_at, unit=proc.acceptance_unit,
                                       amount=proc.acceptance_units + proc.acceptance_paused, cal=cal)
    proc.acceptance_due_at = due
    proc.provisional = provisional
    if proc.mediation_units is not None and proc.decided_at is not None:
        due, provisional = rules.clock_due(start=proc.decided_at, unit=proc.mediation_unit,
                                           amount=proc.mediation_units + proc.mediation_paused, cal=cal)
        proc.mediation_due_at = due
        proc.provisional = provisional


def procedure_open(*, case: Case, registered_at: datetime | None = None, new: bool = False) -> Procedure | None:
    """The procedure of a case of an organization that runs one (None for a helper). The clocks are read from
    the rule version in force on the day of registration (escalation/lawbook.py). `new`: the case is being
    created in this transaction, so no other request can see it, let alone have opened its procedure."""
    track = _track_of_case(case)
    if track is None:
        return None
    if not new:
        existing = Procedure.objects.filter(case=case).first()
        if existing is not None:
            return existing
    registered_at = registered_at or case.created_at or timezone.now()
    on = local_date(registered_at)
    rule = rules.clock_rule("acceptance", track=track, on=on, book=RuleBook.load())
    proc = Procedure(case=case, track=track, registered_at=registered_at, rule_on=on,
                     acceptance_rule_id=rule.version.pk, acceptance_units=rule.amount, acceptance_unit=rule.unit)
    _recount(proc, Calendar.load())
    if new:
        proc.save()
        return proc
    try:
        with transaction.atomic():
            proc.save()
    except IntegrityError:  # opened at the same moment by another request
        return Procedure.objects.get(case=case)
    return proc


def _locked(case: Case) -> Procedure:
    proc = procedure_open(case=case)
    if proc is None:
        raise Conflict(_("This organization runs no complaint procedure of its own (its type is %(kind)s); set its "
                         "type to consumer association or 12315 complaint centre.")
                       % {"kind": case.organization.get_kind_display()}, code="no_procedure")
    return Procedure.objects.select_for_update().select_related("case", "case__organization").get(pk=proc.pk)


def _check_if_match(proc: Procedure, if_match: str | None) -> None:
    if if_match is None:
        return
    tags = {tag.strip() for tag in if_match.split(",")}
    if not tags & {"*", proc.etag, f"W/{proc.etag}"}:
        raise Conflict(_("The procedure was changed by someone else (If-Match is stale); reload it and retry."),
                       code="stale_if_match")


def _expect(proc: Procedure, *stages: str) -> None:
    if proc.stage not in stages:
        raise Conflict(_("Not possible at this stage of the procedure (%(stage)s).")
                       % {"stage": proc.get_stage_display()}, code="wrong_stage")


def _when(value: datetime | None, *, after: datetime | None = None, field: str) -> datetime:
    now = timezone.now()
    value = value or now
    if value > now + CLOCK_SKEW:
        raise ValidationError({field: _("This time is in the future.")})
    if after is not None and value < after:
        raise ValidationError({field: _("This time is before the previous step of the procedure (%(at)s).")
                               % {"at": timezone.localtime(after).strftime("%Y-%m-%d %H:%M")}})
    return value


def _save(proc: Procedure) -> Procedure:
    proc.version = F("version") + 1
    proc.save()
    proc.refresh_from_db()
    return proc


def _close_pause(proc: Procedure, at: datetime, cal: Calendar) -> Pause | None:
    pause = proc.pauses.filter(ended_at__isnull=True).order_by("-started_at").first()
    if pause is None:
        proc.paused_at, proc.paused_waiting_on = None, ""
        return None
    unit = proc.acceptance_unit if pause.clock == "acceptance" else proc.mediation_unit
    pause.ended_at = max(at, pause.started_at)
    pause.units = rules.units_between(after=pause.started_at, until=pause.ended_at, unit=unit, cal=cal)
    pause.save()
    if pause.clock == "acceptance":
        proc.acceptance_paused += pause.units
    else:
        proc.mediation_paused += pause.units
    proc.paused_at, proc.paused_waiting_on = None, ""
    return pause


def _running_clock(proc: Procedure) -> str | None:
    if proc.stage in (Stage.REGISTERED, Stage.REFUSAL_PROPOSED):
        return "acceptance"
    if proc.stage == Stage.ACCEPTED:
        return "mediation"
    return None


def clock_pause(*, actor: ActorLike, case: Case, waiting_on: str, reason: str = "", at: datetime | None = None,
                if_match: str | None = None) -> Procedure:
    """Stop the running clock while the procedure waits on a party (the consumer, the merchant, a test)."""
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        clock = _running_clock(proc)
        if clock is None:
            raise Conflict(_("No clock of the procedure is running at this stage."), code="no_clock")
        if proc.paused_at is not None:
            raise Conflict(_("The clock is already stopped."), code="already_paused")
        at = _when(at, after=proc.decided_at or proc.registered_at, field="at")
        Pause.objects.create(procedure=proc, clock=clock, waiting_on=waiting_on, reason=reason, started_at=at)
        proc.paused_at, proc.paused_waiting_on = at, waiting_on
        proc = _save(proc)
        case_event_record(case=proc.case, actor=actor, kind=EventKind.MEDIATION_CLOCK, note=reason,
                          data={"clock": clock, "paused": True, "waiting_on": waiting_on})
    return proc


def clock_resume(*, actor: ActorLike, case: Case, at: datetime | None = None,
                 if_match: str | None = None) -> Procedure:
    """Restart the clock: the working days (or days) the pause took are given back, on the calendar."""
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        if proc.paused_at is None:
            raise Conflict(_("The clock is not stopped."), code="not_paused")
        at = _when(at, after=proc.paused_at, field="at")
        cal = Calendar.load()
        pause = _close_pause(proc, at, cal)
        _recount(proc, cal)
        proc = _save(proc)
        case_event_record(case=proc.case, actor=actor, kind=EventKind.MEDIATION_CLOCK,
                          data={"clock": pause.clock if pause else "", "paused": False,
                                "units_given_back": pause.units if pause else 0})
    return proc


# --- documents ------------------------------------------------------------------------------------------------

NUMBER_WORD: dict[str, str] = {
    DocumentKind.ACCEPTANCE_NOTICE: "受字", DocumentKind.REFUSAL_NOTICE: "不受字", DocumentKind.FORWARD_NOTICE: "转字",
    DocumentKind.MEDIATION_AGREEMENT: "调字", DocumentKind.TERMINATION_NOTICE: "终调字",
    DocumentKind.LAWSUIT_SUPPORT: "支诉字",
}


def document_issue(*, proc: Procedure, kind: str, actor: ActorLike, at: datetime | None = None) -> IssuedDocument:
    """Number the document (文号: prefix + word + 〔year〕 + serial + 号, one series per organization, kind and
    year) and fix its text in both languages."""
    from .documents import document_texts

    at = at or timezone.now()
    organization = Organization.objects.select_for_update().get(pk=proc.case.organization_id)
    year = timezone.localtime(at).year
    serial = (IssuedDocument.objects.filter(organization=organization, kind=kind, year=year)
              .aggregate(m=Max("serial"))["m"] or 0) + 1
    prefix = organization.document_prefix or organization.name
    number = f"{prefix}{NUMBER_WORD[kind]}〔{year}〕{serial}号"
    text_zh, text_en = document_texts(proc=proc, kind=kind, number=number, issued_at=at)
    document = IssuedDocument.objects.create(case=proc.case, organization=organization, kind=kind, number=number,
                                             year=year, serial=serial, issued_at=at, text_zh=text_zh,
                                             text_en=text_en, issued_by=Actor.of(actor).user)
    return document


# --- acceptance -------------------------------------------------------------------------------------------------

def _validate_decision(proc: Procedure, *, decision: str, ground: str, forwarded_to: str, note: str) -> None:
    if decision not in Decision.values:
        raise ValidationError({"decision": _("Unknown decision.")})
    if decision == Decision.REFUSE:
        if ground not in RefusalGround.values:
            raise ValidationError({"ground": _("A refusal needs its ground, one of: %(grounds)s.")
                                   % {"grounds": ", ".join(RefusalGround.values)}})
        if ground == RefusalGround.LIMITATION:
            cutoff = proc.registered_at - timedelta(days=3 * 365)
            if proc.case.problem_found_at > cutoff:
                raise ValidationError({"ground": _(
                    "The problem was found on %(found)s, less than three years before the complaint: the limitation "
                    "period has not run out.") % {"found": timezone.localtime(proc.case.problem_found_at).date()}})
        if ground == RefusalGround.NOT_CONSUMPTION and not proc.case.for_resale and not note.strip():
            raise ValidationError({"note": _(
                "The case does not say the goods were bought for resale: state the facts that show the purchase "
                "was not for personal consumption.")})
    elif ground:
        raise ValidationError({"ground": _("A ground is given only for a refusal.")})
    if decision == Decision.FORWARD:
        if not forwarded_to.strip():
            raise ValidationError({"forwarded_to": _("Name the competent body the complaint is forwarded to.")})
    elif forwarded_to:
        raise ValidationError({"forwarded_to": _("Only a forwarded complaint names a body to forward to.")})


def acceptance_decide(*, actor: ActorLike, case: Case, decision: str, ground: str = "", note: str = "",
                      forwarded_to: str = "", decided_at: datetime | None = None,
                      if_match: str | None = None) -> Procedure:
    """受理 / 不予受理 / 转送. Accepting starts the mediation clock; a refusal by a handler waits for a
    supervisor (`refusal_review`); a supervisor's refusal takes effect at once."""
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        _expect(proc, Stage.REGISTERED)
        _validate_decision(proc, decision=decision, ground=ground, forwarded_to=forwarded_to, note=note)
        decided_at = _when(decided_at, after=proc.registered_at, field="decided_at")
        cal = Calendar.load()
        if proc.paused_at is not None:
            _close_pause(proc, decided_at, cal)
        proc.decision, proc.refusal_ground, proc.decision_note = decision, ground, note
        proc.forwarded_to = forwarded_to.strip()
        proc.decided_at, proc.decided_by = decided_at, Actor.of(actor).user
        supervisor = may(actor, "procedure.approve")
        if decision == Decision.REFUSE and not supervisor:
            proc.stage = Stage.REFUSAL_PROPOSED
            proc = _save(proc)
            case_event_record(case=proc.case, actor=actor, kind=EventKind.ACCEPTANCE_DECIDED, note=note,
                              data={"decision": decision, "ground": ground, "approved": False})
            return proc
        return _decision_takes_effect(proc, actor=actor, approver=actor if decision == Decision.REFUSE else None,
                                      cal=cal)


def _decision_takes_effect(proc: Procedure, *, actor: ActorLike, approver: ActorLike | None,
                           cal: Calendar) -> Procedure:
    if proc.decision == Decision.ACCEPT:
        proc.stage = Stage.ACCEPTED
        rule = rules.clock_rule("mediation", track=proc.track, on=proc.rule_on, book=RuleBook.load())
        proc.mediation_rule_id = rule.version.pk
        proc.mediation_units, proc.mediation_unit = rule.amount, rule.unit
        kind = DocumentKind.ACCEPTANCE_NOTICE
    elif proc.decision == Decision.REFUSE:
        proc.stage = Stage.REFUSED
        proc.approved_by = Actor.of(approver).user
        proc.closed_at = proc.decided_at
        kind = DocumentKind.REFUSAL_NOTICE
    else:
        proc.stage = Stage.FORWARDED
        proc.closed_at = proc.decided_at
        kind = DocumentKind.FORWARD_NOTICE
    _recount(proc, cal)
    proc = _save(proc)
    document = document_issue(proc=proc, kind=kind, actor=actor)
    assert proc.decided_at is not None, "a decision that takes effect has its time"
    case_event_record(case=proc.case, actor=actor, kind=EventKind.ACCEPTANCE_DECIDED, note=proc.decision_note,
                      data={"decision": proc.decision, "ground": proc.refusal_ground, "approved": True,
                            "forwarded_to": proc.forwarded_to, "document": document.number,
                            "on_time": proc.decided_at <= proc.acceptance_due_at})
    audit_record(actor=actor, action="acceptance_decide", obj=proc.case,
                 detail={"decision": proc.decision, "ground": proc.refusal_ground})
    return proc


def refusal_review(*, actor: ActorLike, case: Case, approve: bool, note: str = "",
                   if_match: str | None = None) -> Procedure:
    """A supervisor approves a proposed refusal (it takes effect, with its notice) or sends it back."""
    if not may(actor, "procedure.approve"):
        raise PermissionDenied(_("Only a supervisor may approve a refusal."))
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        _expect(proc, Stage.REFUSAL_PROPOSED)
        if approve:
            return _decision_takes_effect(proc, actor=actor, approver=actor, cal=Calendar.load())
        proc.stage, proc.decision, proc.refusal_ground, proc.decided_at = Stage.REGISTERED, "", "", None
        proc = _save(proc)
        case_event_record(case=proc.case, actor=actor, kind=EventKind.ACCEPTANCE_DECIDED, note=note,
                          data={"decision": "refusal_sent_back"})
    return proc


# --- mediation --------------------------------------------------------------------------------------------------

SESSION_FIELDS = ("held_at", "mode", "mediator", "consumer_attended", "merchant_representative",
                  "other_participants", "consumer_proposal", "merchant_proposal", "outcome", "note")


def session_record(*, actor: ActorLike, case: Case, data: dict, if_match: str | None = None) -> MediationSession:
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        _expect(proc, Stage.ACCEPTED)
        held_at = _when(data.get("held_at"), after=proc.decided_at, field="held_at")
        session = MediationSession(procedure=proc, recorded_by=Actor.of(actor).user,
                                   **{k: v for k, v in data.items() if k in SESSION_FIELDS})
        session.held_at = held_at
        session.full_clean(exclude=["procedure", "recorded_by"])
        session.save()
        _save(proc)
        case_event_record(case=proc.case, actor=actor, kind=EventKind.MEDIATION_SESSION, note=session.note,
                          data={"session": session.pk, "outcome": session.outcome,
                                "merchant_representative": session.merchant_representative})
    return session


def session_update(*, actor: ActorLike, session: MediationSession, data: dict,
                   if_match: str | None) -> MediationSession:
    with transaction.atomic():
        session = MediationSession.objects.select_for_update().select_related("procedure").get(pk=session.pk)
        if if_match is not None and not {t.strip() for t in if_match.split(",")} & {"*", session.etag,
                                                                                      f"W/{session.etag}"}:
            raise Conflict(_("The session was changed by someone else (If-Match is stale); reload it and retry."),
                           code="stale_if_match")
        if session.procedure.stage != Stage.ACCEPTED:
            raise Conflict(_("Mediation is over: its sessions can no longer be changed."), code="wrong_stage")
        if "held_at" in data:
            data["held_at"] = _when(data["held_at"], after=session.procedure.decided_at, field="held_at")
        changed = [k for k, v in data.items() if k in SESSION_FIELDS and getattr(session, k) != v]
        for field in changed:
            setattr(session, field, data[field])
        if not changed:
            return session
        session.full_clean(exclude=["procedure", "recorded_by"])
        session.version = F("version") + 1
        session.save()
        session.refresh_from_db()
        case_event_record(case=session.procedure.case, actor=actor, kind=EventKind.MEDIATION_SESSION,
                          data={"session": session.pk, "corrected": sorted(changed)})
    return session


def agreement_record(*, actor: ActorLike, case: Case, amount: Decimal, pay_by: date, terms: str, if_unpaid: str,
                     signed_at: datetime | None = None, if_match: str | None = None) -> Procedure:
    """调解协议: the terms, the amount and the day it is due; the day is watched until performance is recorded."""
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        _expect(proc, Stage.ACCEPTED)
        signed_at = _when(signed_at, after=proc.decided_at, field="signed_at")
        errors = {}
        if amount is None or amount < 0 or amount > MAX_AMOUNT:
            errors["amount"] = _("Give the amount the merchant pays, 0 or more.")
        signed_day = local_date(signed_at)
        if pay_by is None or pay_by < signed_day:
            errors["pay_by"] = _("The payment deadline cannot be before the agreement.")
        elif pay_by > signed_day + timedelta(days=MAX_PAY_DAYS):
            errors["pay_by"] = _("The payment deadline is more than a year after the agreement; check the date.")
        if not (terms or "").strip():
            errors["terms"] = _("Write the terms the parties agreed.")
        if not (if_unpaid or "").strip():
            errors["if_unpaid"] = _("Say what happens if the merchant does not pay by the deadline.")
        if errors:
            raise ValidationError(errors)
        cal = Calendar.load()
        if proc.paused_at is not None:
            _close_pause(proc, signed_at, cal)
        proc.stage = Stage.AGREEMENT
        proc.agreement_at, proc.agreement_amount, proc.agreement_pay_by = signed_at, amount, pay_by
        proc.agreement_terms, proc.agreement_if_unpaid = terms.strip(), if_unpaid.strip()
        proc = _save(proc)
        document = document_issue(proc=proc, kind=DocumentKind.MEDIATION_AGREEMENT, actor=actor)
        case_event_record(case=proc.case, actor=actor, kind=EventKind.MEDIATION_AGREEMENT,
                          data={"amount": str(amount), "pay_by": pay_by.isoformat(), "document": document.number})
    return proc


def performance_record(*, actor: ActorLike, case: Case, performed_at: datetime | None = None, note: str = "",
                       if_match: str | None = None) -> Procedure:
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        _expect(proc, Stage.AGREEMENT)
        performed_at = _when(performed_at, after=proc.agreement_at, field="performed_at")
        proc.stage, proc.performed_at, proc.performance_note = Stage.PERFORMED, performed_at, note
        proc.closed_at = performed_at
        proc = _save(proc)
        assert proc.agreement_pay_by is not None, "an agreement has its payment day"
        on_time = local_date(performed_at) <= proc.agreement_pay_by
        case_event_record(case=proc.case, actor=actor, kind=EventKind.AGREEMENT_PERFORMED, note=note,
                          data={"on_time": on_time})
    return proc


def mediation_terminate(*, actor: ActorLike, case: Case, reason: str, note: str = "", at: datetime | None = None,
                        if_match: str | None = None) -> Procedure:
    """终止调解, with the reason; the notice names the consumer's next options. The time-limit reason is
    allowed only once the mediation clock has run out."""
    from .codes import TerminationReason

    if reason not in TerminationReason.values:
        raise ValidationError({"reason": _("Unknown reason, one of: %(reasons)s.")
                               % {"reasons": ", ".join(TerminationReason.values)}})
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        _expect(proc, Stage.ACCEPTED)
        at = _when(at, after=proc.decided_at, field="at")
        cal = Calendar.load()
        if proc.paused_at is not None:
            _close_pause(proc, at, cal)
            _recount(proc, cal)
        if reason == TerminationReason.TIME_LIMIT:
            assert proc.mediation_due_at is not None, "an accepted procedure has its mediation clock"
            if at <= proc.mediation_due_at:
                raise ValidationError({"reason": _("The mediation time limit runs until %(due)s: it has not passed.")
                                       % {"due": timezone.localtime(proc.mediation_due_at).strftime("%Y-%m-%d")}})
        proc.stage, proc.terminated_at, proc.termination_reason = Stage.TERMINATED, at, reason
        proc.termination_note, proc.closed_at = note, at
        proc = _save(proc)
        document = document_issue(proc=proc, kind=DocumentKind.TERMINATION_NOTICE, actor=actor)
        case_event_record(case=proc.case, actor=actor, kind=EventKind.MEDIATION_TERMINATED, note=note,
                          data={"reason": reason, "document": document.number})
    return proc


def agreements_flag_overdue(*, now: datetime | None = None) -> int:
    """Agreements whose payment day has passed with no performance recorded: flagged once, as a case event
    (webhook `case.agreement_overdue`). Run by the beat task `procedure.agreements_watch`."""
    now = now or timezone.now()
    today = local_date(now)
    flagged = 0
    ids = list(Procedure.objects.filter(stage=Stage.AGREEMENT, agreement_pay_by__lt=today,
                                        overdue_flagged_at__isnull=True).values_list("pk", flat=True)[:1000])
    for pk in ids:
        with transaction.atomic():
            proc = Procedure.objects.select_for_update().select_related("case").filter(
                pk=pk, stage=Stage.AGREEMENT, overdue_flagged_at__isnull=True).first()
            if proc is None:
                continue
            assert proc.agreement_pay_by is not None, "filtered on agreement_pay_by"
            proc.overdue_flagged_at = now
            proc.save(update_fields=["overdue_flagged_at", "updated_at"])
            case_event_record(case=proc.case, actor=None, kind=EventKind.AGREEMENT_OVERDUE,
                              data={"pay_by": proc.agreement_pay_by.isoformat(),
                                    "amount": str(proc.agreement_amount)})
            flagged += 1
    return flagged


# --- support to sue, public interest -----------------------------------------------------------------------------

def support_propose(*, actor: ActorLike, case: Case, court: str, facts_found: str, opinion: str,
                    if_match: str | None = None) -> LawsuitSupport:
    """支持起诉 after a terminated mediation, for a consumer association only (art. 37(1)(7)). A supervisor's
    proposal is approved at once; a handler's waits (`support_approve`)."""
    with transaction.atomic():
        proc = _locked(case)
        _check_if_match(proc, if_match)
        if proc.track != Track.CONSUMER_ASSOCIATION:
            raise Conflict(_("Only a consumer association supports a lawsuit (消费者权益保护法 art. 37)."),
                           code="not_an_association")
        _expect(proc, Stage.TERMINATED)
        if LawsuitSupport.objects.filter(procedure=proc).exists():
            raise Conflict(_("Support to sue is already recorded for this case."), code="already_supported")
        errors = {name: _("This field is required.") for name, value in
                  (("court", court), ("facts_found", facts_found), ("opinion", opinion)) if not (value or "").strip()}
        if errors:
            raise ValidationError(errors)
        support = LawsuitSupport.objects.create(procedure=proc, court=court.strip(), facts_found=facts_found.strip(),
                                                opinion=opinion.strip(),
                                                proposed_by=Actor.of(actor).user)
        _save(proc)
        if may(actor, "procedure.approve"):
            return _support_takes_effect(support, actor=actor)
    return support


def _support_takes_effect(support: LawsuitSupport, *, actor: ActorLike) -> LawsuitSupport:
    support.status, support.approved_at = SupportStatus.APPROVED, timezone.now()
    support.approved_by = Actor.of(actor).user
    support.save()
    document = document_issue(proc=support.procedure, kind=DocumentKind.LAWSUIT_SUPPORT, actor=actor)
    case_event_record(case=support.procedure.case, actor=actor, kind=EventKind.LAWSUIT_SUPPORTED,
                      data={"court": support.court, "document": document.number})
    audit_record(actor=actor, action="lawsuit_support", obj=support.procedure.case, detail={"court": support.court})
    return support


def support_approve(*, actor: ActorLike, case: Case) -> LawsuitSupport:
    if not may(actor, "procedure.approve"):
        raise PermissionDenied(_("Only a supervisor may approve support to sue."))
    with transaction.atomic():
        proc = _locked(case)
        support = LawsuitSupport.objects.select_for_update().filter(procedure=proc).first()
        if support is None:
            raise Conflict(_("No support to sue is proposed for this case."), code="no_support")
        if support.status == SupportStatus.APPROVED:
            raise Conflict(_("Support to sue is already approved."), code="already_supported")
        return _support_takes_effect(support, actor=actor)


def public_interest_open(*, actor: ActorLike, title: str, respondent: str, conduct: str,
                         platform: Platform | None = None) -> PublicInterestFile:
    """A public-interest file: only the China Consumers Association and provincial associations may sue for
    many consumers (消费者权益保护法 art. 47)."""
    organization_id = Actor.of(actor).organization_id
    if organization_id is None:  # a staff user of no organization (a superuser) holds no files
        raise PermissionDenied
    organization = Organization.objects.get(pk=organization_id)
    if organization.kind != Organization.Kind.CONSUMER_ASSOCIATION or \
            organization.level not in rules.PUBLIC_INTEREST_LEVELS:
        raise Conflict(_("Only the China Consumers Association and the consumer associations of provinces, "
                         "autonomous regions and municipalities may bring a public-interest action "
                         "(消费者权益保护法 art. 47)."), code="not_entitled")
    errors = {name: _("This field is required.") for name, value in
              (("title", title), ("respondent", respondent), ("conduct", conduct)) if not (value or "").strip()}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        file = PublicInterestFile.objects.create(organization=organization, title=title.strip(),
                                                 respondent=respondent.strip(), conduct=conduct.strip(),
                                                 platform=platform, opened_by=Actor.of(actor).user)
        audit_record(actor=actor, action="public_interest_open", obj=file, detail={"title": file.title})
    return file


def victim_add(*, actor: ActorLike, file: PublicInterestFile, loss: Decimal | None = None, case: Case | None = None,
               name: str = "", note: str = "") -> Victim:
    """A victim of the conduct: from a case of the organization (name and amount paid taken from it) or named."""
    if case is not None:
        if case.organization_id != file.organization_id:
            raise ValidationError({"case": _("No case with this id in your organization.")})
        if Victim.objects.filter(file=file, case=case).exists():
            raise Conflict(_("This case is already in the file."), code="duplicate_victim")
        name = name or case.consumer.name
        loss = case.amount_paid if loss is None else loss
    if not (name or "").strip():
        raise ValidationError({"name": _("Name the victim, or give the case.")})
    if loss is None or loss < 0 or loss > MAX_AMOUNT:
        raise ValidationError({"loss": _("Give the loss in CNY, 0 or more.")})
    with transaction.atomic():
        victim = Victim.objects.create(file=file, case=case, name=name.strip(), loss=loss, note=note)
        PublicInterestFile.objects.filter(pk=file.pk).update(updated_at=timezone.now())
    return victim

