"""Writes of the escalation app: escalate, answer, deadlines (create, suspend, resume, extend, meet),
the calendar overrides. Each validates, writes inside one transaction and records the event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.codes import OPEN_STATUSES, EventKind
from cases.models import Case
from cases.services import case_event_record, case_transition
from kameng_api.core.actors import Actor, ActorLike
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict
from kameng_api.core.roles import Role
from kameng_api.core.validators import not_in_future

from . import rules
from .calendar import CALENDAR, Calendar, add_hours
from .codes import Channel, DeadlineKind, DeadlineStatus, EscalationOutcome, SkipReason
from .lawbook import RuleBook
from .models import CalendarDay, CalendarYear, Deadline, Escalation

FINAL_OUTCOMES = frozenset({EscalationOutcome.RESOLVED, EscalationOutcome.PARTIAL, EscalationOutcome.REFUSED,
                            EscalationOutcome.NO_RESPONSE})
MAX_EXTENSION = 365


# --- deadlines: the clock arithmetic -----------------------------------------------------------------

def _clock(deadline: Deadline) -> tuple[datetime, int]:
    """Where the clock counts from and how long it runs; every deadline built by `deadline_build` has one."""
    if deadline.clock_from is None or deadline.clock_amount is None:
        raise ValueError(f"deadline {deadline.pk} has no running clock")
    return deadline.clock_from, deadline.clock_amount


def _recompute(deadline: Deadline, cal: Calendar) -> None:
    """due/late/very-late from the clock as it runs now (clock_from + clock_amount units)."""
    clock_from, amount = _clock(deadline)
    extra = deadline.very_late_amount or 0
    grace = deadline.late_amount if deadline.late_amount is not None else _late_amount_of(deadline)
    if deadline.day_based and deadline.working_days is None:
        due, provisional = cal.add_days(clock_from, amount // 24)
        late, _later = cal.add_days(clock_from, (amount + grace) // 24)
        very_late, _later = cal.add_days(clock_from, (amount + extra) // 24)
        deadline.provisional = provisional
    elif deadline.working_days is not None:
        due, provisional = cal.add_working_days(clock_from, amount)
        late, _later = cal.add_working_days(clock_from, amount + grace)
        very_late, _later = cal.add_working_days(clock_from, amount + extra)
        deadline.provisional = provisional
    else:
        due = add_hours(clock_from, amount)
        late = add_hours(due, grace)
        very_late = add_hours(due, extra)
        deadline.provisional = False
    deadline.due_at = due
    deadline.late_at = late
    deadline.very_late_at = very_late


def _late_amount_of(deadline: Deadline) -> int:
    """The late tier of the deadline's rule, in the deadline's own unit (hours or working days)."""
    rule = rules.DEADLINES.get(deadline.kind)
    if rule is None:
        return 0
    return rule.late * (24 if rule.unit == rules.CALENDAR_DAYS else 1)


def deadline_build(*, case: Case, kind: str, starts_at: datetime, unit: str, amount: int, very_late: int,
                   escalation: Escalation | None = None, cal: Calendar | None = None,
                   clock: rules.Clock | None = None) -> Deadline:
    """An unsaved deadline, its dates counted by the rule's unit (escalation/rules.py)."""
    cal = cal or Calendar.load()
    deadline = Deadline(case=case, escalation=escalation, kind=kind, starts_at=starts_at, clock_from=starts_at)
    if clock is not None:
        deadline.day_based = clock.day_based
        if clock.version is not None and clock.version.pk:
            deadline.rule_version_id = clock.version.pk
    if unit == rules.WORKING_DAYS:
        deadline.working_days = amount
        deadline.clock_amount = amount
        deadline.very_late_amount = very_late
        deadline.late_amount = rules.DEADLINES[kind].late if kind in rules.DEADLINES else 0
    else:
        factor = 24 if unit == rules.CALENDAR_DAYS else 1
        deadline.hours = amount * factor
        deadline.clock_amount = amount * factor
        deadline.very_late_amount = very_late * factor
        deadline.late_amount = (rules.DEADLINES[kind].late if kind in rules.DEADLINES else 0) * factor
    _recompute(deadline, cal)
    return deadline


def deadline_from_clock(*, case: Case, clock: rules.Clock, starts_at: datetime,
                        escalation: Escalation | None = None, cal: Calendar | None = None) -> Deadline:
    return deadline_build(case=case, kind=clock.kind, starts_at=starts_at, unit=clock.unit, amount=clock.amount,
                          very_late=clock.very_late, escalation=escalation, cal=cal, clock=clock)


def deadlines_for_new_case(*, case: Case) -> list[Deadline]:
    """The clocks that run from the start: preserve the evidence within 24 h of discovery (seed 004) and
    complain to the platform within its published window (from delivery or discovery)."""
    return Deadline.objects.bulk_create(deadlines_for_new_case_unsaved(case=case))


def deadlines_for_new_case_unsaved(*, case: Case) -> list[Deadline]:
    cal = Calendar.load()
    platform = case.platform
    window_rule = rules.DEADLINES[DeadlineKind.PLATFORM_WINDOW]
    window_from = case.problem_found_at
    if platform.complaint_window_from == "delivery" and case.delivered_at:
        window_from = case.delivered_at
    window = deadline_build(case=case, kind=DeadlineKind.PLATFORM_WINDOW, starts_at=window_from, unit=rules.HOURS,
                            amount=platform.complaint_window_hours, very_late=window_rule.very_late, cal=cal)
    now = timezone.now()
    book = RuleBook.load()
    merchant_hours = rules.clock_of_kind(DeadlineKind.MERCHANT_ANSWER, on=timezone.localdate(), book=book).amount
    if now < window.due_at < now + timedelta(hours=merchant_hours):
        window.warning = _window_text(window.due_at)
    evidence = rules.clock_of_kind(DeadlineKind.EVIDENCE_PRESERVATION,
                                   on=timezone.localtime(case.problem_found_at).date(), book=book)
    deadlines = [
        deadline_from_clock(case=case, clock=evidence, starts_at=case.problem_found_at, cal=cal),
        window,
    ]
    return deadlines


def _window_text(due_at: datetime) -> str:
    due = timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M")
    return _("The platform's complaint window closes at %(due)s, before the merchant's 48 hours are over: "
             "complain to the platform now, in parallel, or the window is lost.") % {"due": due}


def deadlines_follow_corrected_case(*, case: Case) -> int:
    """A corrected delivery or discovery time (or platform) moves the clocks that start from it, when they
    are still open and running; a suspended clock keeps its frozen remainder."""
    fresh = {d.kind: d for d in deadlines_for_new_case_unsaved(case=case)}
    changed = 0
    for deadline in Deadline.objects.filter(case=case, escalation__isnull=True, status=DeadlineStatus.OPEN,
                                            suspended_at__isnull=True, kind__in=list(fresh)):
        new = fresh[deadline.kind]
        if (deadline.starts_at, deadline.clock_amount) == (new.starts_at, new.clock_amount):
            continue
        for field in ("starts_at", "clock_from", "clock_amount", "hours", "due_at", "late_at", "very_late_at",
                      "provisional", "warning"):
            setattr(deadline, field, getattr(new, field))
        deadline.save()
        changed += 1
    return changed


def deadline_meet(*, case: Case, kind: str, at: datetime | None = None) -> int:
    """Mark the case's open deadlines of `kind` met (e.g. the evidence app, once evidence is preserved)."""
    return Deadline.objects.filter(case=case, kind=kind, status=DeadlineStatus.OPEN).update(
        status=DeadlineStatus.MET, met_at=at or timezone.now(), suspended_at=None)


def deadlines_cancel_for_closed_case(*, case: Case) -> int:
    """A resolved, rejected or withdrawn case has no clock left running."""
    return Deadline.objects.filter(case=case, status=DeadlineStatus.OPEN).update(
        status=DeadlineStatus.CANCELLED, suspended_at=None, updated_at=timezone.now())


def _locked_deadline(deadline: Deadline) -> Deadline:
    deadline = Deadline.objects.select_for_update().get(pk=deadline.pk)
    if deadline.status != DeadlineStatus.OPEN:
        raise Conflict(_("This deadline is %(status)s, not open.") % {"status": deadline.status},
                       code="deadline_closed")
    return deadline


def deadline_suspend(*, actor: ActorLike, deadline: Deadline, note: str = "") -> Deadline:
    """Stop the clock while the case waits on the consumer."""
    with transaction.atomic():
        deadline = _locked_deadline(deadline)
        if deadline.suspended_at is not None:
            raise Conflict(_("This deadline is already suspended."), code="already_suspended")
        deadline.suspended_at = timezone.now()
        deadline.save(update_fields=["suspended_at", "updated_at"])
        audit_record(actor=actor, action="deadline_suspend", obj=deadline, detail={"note": note})
    return deadline


def deadline_resume(*, actor: ActorLike, deadline: Deadline, at: datetime | None = None) -> Deadline:
    """Restart the clock. Working-day deadlines get back the working days that remained when the clock
    stopped, counted from the resume on the calendar (holidays during the pause are not lost);
    hour deadlines get back the wall-clock time that remained."""
    now = at or timezone.now()
    with transaction.atomic():
        deadline = _locked_deadline(deadline)
        if deadline.suspended_at is None:
            raise Conflict(_("This deadline is not suspended."), code="not_suspended")
        stopped = deadline.suspended_at
        if stopped < deadline.due_at:
            cal = Calendar.load()
            if deadline.working_days is not None:
                deadline.clock_amount = cal.working_days_between(stopped, deadline.due_at)
                deadline.clock_from = now
            else:
                deadline.clock_from = _clock(deadline)[0] + (now - stopped)
            _recompute(deadline, cal)
        deadline.suspended_at = None
        deadline.save()
        audit_record(actor=actor, action="deadline_resume", obj=deadline,
                     detail={"suspended_at": stopped.isoformat(), "due_at": deadline.due_at.isoformat()})
    return deadline


def deadline_extend(*, actor: ActorLike, deadline: Deadline, extend_by: int, reason: str) -> Deadline:
    """Move the due date later by `extend_by` units of the deadline (working days or hours), with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the deadline is extended.")})
    if not 1 <= extend_by <= MAX_EXTENSION:
        raise ValidationError({"extend_by": _("Extend by 1 to %(max)s units.") % {"max": MAX_EXTENSION}})
    with transaction.atomic():
        deadline = _locked_deadline(deadline)
        deadline.clock_amount = _clock(deadline)[1] + extend_by
        _recompute(deadline, Calendar.load())
        unit = _("working days") if deadline.working_days is not None else _("hours")
        line = f"{timezone.localdate()}: +{extend_by} {unit}: {reason}"
        deadline.extension_reason = f"{deadline.extension_reason}\n{line}".strip()
        deadline.save()
        audit_record(actor=actor, action="deadline_extend", obj=deadline,
                     detail={"extend_by": extend_by, "reason": reason})
    return deadline


def case_waiting_set(*, actor: ActorLike, case: Case, waiting: bool, note: str = "", at: datetime | None = None) -> dict:
    """The case waits on the consumer (or no longer does). The flag is written by the cases service, which
    makes every open clock follow it (`deadlines_follow_waiting`), whoever sets it (API, admin)."""
    from cases.services import case_update

    with transaction.atomic():
        changed = Deadline.objects.filter(case=case, status=DeadlineStatus.OPEN,
                                          suspended_at__isnull=waiting).count()
        case = case_update(actor=actor, case=case, data={"waiting_on_consumer": waiting}, note=note, at=at)
        if case.waiting_on_consumer != waiting:
            changed = 0
    return {"waiting_on_consumer": waiting, "deadlines_changed": changed}


def deadlines_follow_waiting(*, actor: ActorLike, case: Case, waiting: bool, note: str = "", at: datetime | None = None) -> int:
    """Every open deadline of the case stops (waiting) or restarts its clock. Called by `case_update` when
    `Case.waiting_on_consumer` changes, inside its transaction."""
    changed = 0
    for deadline in Deadline.objects.filter(case=case, status=DeadlineStatus.OPEN).order_by("pk"):
        if waiting and deadline.suspended_at is None:
            deadline_suspend(actor=actor, deadline=deadline, note=note)
            changed += 1
        elif not waiting and deadline.suspended_at is not None:
            deadline_resume(actor=actor, deadline=deadline, at=at)
            changed += 1
    return changed


def deadlines_recompute(*, cal: Calendar | None = None) -> int:
    """Recount every open working-day deadline on the calendar as it is now (after the overrides change,
    e.g. next year's schedule entered). Returns how many due dates moved or stopped being provisional."""
    cal = cal or Calendar.load()
    changed = []
    qs = Deadline.objects.filter(Q(working_days__isnull=False) | Q(day_based=True), status=DeadlineStatus.OPEN,
                                 clock_from__isnull=False)
    for deadline in qs.iterator(chunk_size=500):
        before = (deadline.due_at, deadline.late_at, deadline.very_late_at, deadline.provisional)
        _recompute(deadline, cal)
        if (deadline.due_at, deadline.late_at, deadline.very_late_at, deadline.provisional) != before:
            changed.append(deadline)
    Deadline.objects.bulk_update(changed, ["due_at", "late_at", "very_late_at", "provisional"], batch_size=500)
    for deadline in changed:
        if deadline.escalation_id:
            Escalation.objects.filter(pk=deadline.escalation_id, due_at__isnull=False).update(
                due_at=deadline.due_at)
    return len(changed)


def calendar_year_set(*, actor: ActorLike | None, year: int, days: list[dict], schedule_entered: bool = True) -> dict:
    """Enter (replace) a year's holidays and adjusted working days, then recount the open deadlines. The year
    is marked as entered (its deadlines stop being provisional) unless `schedule_entered` is False."""
    seen: set[date] = set()
    for index, day in enumerate(days):
        if day["date"].year != year:
            raise ValidationError({"days": _("Day %(n)s (%(date)s) is not in %(year)s.")
                                   % {"n": index + 1, "date": day["date"], "year": year}})
        if day["date"] in seen:
            raise ValidationError({"days": _("%(date)s appears twice.") % {"date": day["date"]}})
        seen.add(day["date"])
    with transaction.atomic():
        CalendarYear.objects.update_or_create(year=year, defaults={"schedule_entered": schedule_entered})
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarDay.objects.bulk_create([
            CalendarDay(date=d["date"], is_working_day=d["is_working_day"], name=d.get("name", "")) for d in days
        ])
        CALENDAR.renew()  # bulk_create sends no signal
        recomputed = deadlines_recompute()
        org_id = Actor.of(actor).organization_id
        if org_id is not None:
            from cases.models import Organization

            audit_record(actor=actor, action="calendar_year_set",
                         obj=Organization.objects.get(pk=org_id),
                         detail={"year": year, "days": len(days)})
    return {"year": year, "days": len(days), "recomputed_deadlines": recomputed, "schedule_entered": schedule_entered}


def _window_warning(*, case: Case, channel: str, answer: Deadline) -> list[str]:
    """The platform's complaint window closing before the merchant's 48 hours are over: say so at once, on
    both clocks (the alerts carry the warning), so the platform is asked in parallel."""
    if channel != Channel.MERCHANT:
        return []
    window = Deadline.objects.filter(case=case, kind=DeadlineKind.PLATFORM_WINDOW, status=DeadlineStatus.OPEN,
                                     due_at__lt=answer.due_at).first()
    if window is None:
        return []
    text = _window_text(window.due_at)
    window.warning = text
    window.save(update_fields=["warning", "updated_at"])
    return [text]


CONSUMER_BODIES: frozenset[str] = frozenset({Channel.C12315, Channel.CONSUMER_ASSOCIATION})


def _double_filing_warning(*, case: Case, channel: str, escalation: Escalation) -> list[str]:
    """The same dispute before 12315 and the consumer association: the second is refused (rule double_filing)."""
    if channel not in CONSUMER_BODIES:
        return []
    other = case.escalations.filter(channel__in=CONSUMER_BODIES - {channel}).exclude(pk=escalation.pk).first()
    if other is None:
        return []
    rule = RuleBook.load().get("double_filing", timezone.localtime(escalation.submitted_at).date())
    return [_("The same dispute is already filed with %(other)s: a second filing with %(channel)s is refused "
              "(%(cite)s).") % {"other": Channel(other.channel).label, "channel": Channel(channel).label,
                                "cite": rule.short_citation}]


def _base_date(deadline: Deadline) -> date:
    """The day whose rules a clock runs on: the complaint's submission (or the clock's start)."""
    moment = deadline.escalation.submitted_at if deadline.escalation is not None else deadline.starts_at
    return timezone.localtime(moment).date()


def deadlines_recount_rules() -> int:
    """After a rule version is added or corrected: every open clock counted from the rule table is recounted
    on the version in force on its complaint's submission day; extensions and pauses are kept (only the
    difference between the old and the new statutory length is applied). Returns how many changed."""
    book = RuleBook.load()
    cal = Calendar.load()
    versioned = [kind for kind, rule in rules.DEADLINES.items() if rule.rule_key] + [DeadlineKind.LEGAL,
                                                                                     DeadlineKind.THIRD_PARTY_ANSWER]
    changed = 0
    qs = (Deadline.objects.filter(status=DeadlineStatus.OPEN, kind__in=versioned, clock_from__isnull=False)
          .select_related("escalation"))
    for deadline in qs.iterator(chunk_size=500):
        on = _base_date(deadline)
        channel = deadline.escalation.channel if deadline.escalation is not None else None
        if deadline.kind == DeadlineKind.LEGAL and channel not in rules.LEGAL_RULES:
            continue
        if deadline.kind == DeadlineKind.THIRD_PARTY_ANSWER and channel not in rules.THIRD_PARTY_RULES:
            continue
        clock = rules.clock_of_kind(deadline.kind, on=on, book=book, channel=channel,
                                    start=timezone.localtime(deadline.starts_at).date())
        if deadline.working_days is not None:
            old, new = deadline.working_days, clock.amount
        else:
            old, new = deadline.hours or 0, clock.amount * (24 if clock.day_based else 1)
        version_id = clock.version.pk if clock.version is not None else None
        if old == new and deadline.rule_version_id == version_id:
            continue
        if deadline.working_days is not None:
            deadline.working_days = new
        else:
            deadline.hours = new
        deadline.clock_amount = max(0, (deadline.clock_amount or 0) + new - old)
        deadline.rule_version_id = version_id
        if deadline.suspended_at is None:
            _recompute(deadline, cal)
        deadline.save()
        if deadline.escalation_id:
            Escalation.objects.filter(pk=deadline.escalation_id, due_at__isnull=False).update(due_at=deadline.due_at)
        changed += 1
    return changed


# --- escalations -------------------------------------------------------------------------------------

def _reached_level(case: Case) -> int:
    by_status = rules.LEVEL_OF_STATUS.get(case.status, 0)
    by_escalations = max(case.escalations.values_list("level", flat=True), default=0)
    return max(by_status, by_escalations)


def _validate_submitted_at(case: Case, submitted_at: datetime) -> None:
    not_in_future(submitted_at, field="submitted_at")
    if submitted_at < case.purchased_at:
        raise ValidationError({"submitted_at": _("The complaint cannot be submitted before the purchase (%(at)s).")
                               % {"at": timezone.localtime(case.purchased_at).strftime("%Y-%m-%d %H:%M")}})


def _rung_names(levels: list[int]) -> str:
    return "; ".join(
        _("level %(level)s (%(name)s: %(channels)s)") % {
            "level": level, "name": rules.LEVEL_NAMES[level], "channels": ", ".join(rules.CHANNELS_OF_LEVEL[level]),
        } for level in levels
    )


def escalation_submit(*, actor: ActorLike, case: Case, channel: str, submitted_at: datetime, external_reference: str = "",
                      skip_reason: str = "", skip_note: str = "") -> Escalation:
    """Take the case one rung up (or sideways on the same rung). Skipping a rung needs a reason from the fixed
    list (and words for `other`); the legal level needs a supervisor; the case's status follows the level."""
    if channel not in rules.ANSWER_DEADLINE_OF_CHANNEL:
        raise ValidationError({"channel": _("Unknown channel %(channel)s.") % {"channel": channel}})
    if skip_reason and skip_reason not in SkipReason.values:
        raise ValidationError({"skip_reason": _("Unknown skip reason %(reason)s.") % {"reason": skip_reason}})
    level = rules.level_of(channel)
    skip_note = (skip_note or "").strip()
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("platform").get(pk=case.pk)
        if case.status not in OPEN_STATUSES:
            raise Conflict(_("A closed case (%(status)s) cannot be escalated.") % {"status": case.status},
                           code="case_closed")
        _validate_submitted_at(case, submitted_at)
        if level >= rules.SUPERVISOR_LEVEL and Actor.of(actor).role != Role.SUPERVISOR:
            raise PermissionDenied(_("Only a supervisor may approve the legal level."))
        reached = _reached_level(case)
        missing = rules.missing_rungs(reached=reached, target=level)
        if missing and not skip_reason:
            raise ValidationError({"skip_reason": _(
                "This skips %(rungs)s, which was not tried. Give a skip_reason (platform_absconded, fraud, "
                "cross_border, no_response, amount_over_5000, other) or go up the ladder in order."
            ) % {"rungs": _rung_names(missing)}})
        if missing and skip_reason in rules.SKIP_REASONS_NEEDING_NOTE and not skip_note:
            raise ValidationError({"skip_note": _("Explain the skip in words when the reason is 'other'.")})
        escalation = Escalation.objects.create(
            case=case, channel=channel, level=level, submitted_at=submitted_at,
            external_reference=(external_reference or "").strip(), skip_reason=skip_reason if missing else "",
            skip_note=skip_note if missing else "", created_by=Actor.of(actor).user,
            approved_by=Actor.of(actor).user if level >= rules.SUPERVISOR_LEVEL else None,
        )
        cal = Calendar.load()
        clock = rules.answer_clock(channel, on=timezone.localtime(submitted_at).date(), platform=case.platform)
        deadline = deadline_from_clock(case=case, clock=clock, starts_at=submitted_at, escalation=escalation, cal=cal)
        warnings = _window_warning(case=case, channel=channel, answer=deadline) + _double_filing_warning(
            case=case, channel=channel, escalation=escalation)
        deadline.warning = " ".join(warnings)
        deadline.save()
        escalation.due_at = deadline.due_at
        escalation.save(update_fields=["due_at"])
        _close_lower_clocks(case=case, level=level, at=submitted_at, exclude=escalation)
        case_event_record(case=case, actor=actor, kind=EventKind.ESCALATED, occurred_at=submitted_at,
                          note=skip_note, data={
                              "escalation": escalation.pk, "channel": channel, "level": level,
                              "skip_reason": escalation.skip_reason, "skipped_levels": missing,
                              "external_reference": escalation.external_reference,
                              "due_at": deadline.due_at.isoformat(), "warnings": warnings,
                              "rule": deadline.rule_version_id,
                          })
        target = rules.STATUS_OF_LEVEL[level]
        if rules.LEVEL_OF_STATUS.get(case.status, 0) < level:
            case_transition(actor=actor, case=case, to=target, escalation=True,
                            note=_("Escalated to %(channel)s.") % {"channel": Channel(channel).label})
    return escalation


def _close_lower_clocks(*, case: Case, level: int, at: datetime, exclude: Escalation) -> None:
    """Going up ends the wait at the lower rungs; complaining to the platform meets its window."""
    lower = Deadline.objects.filter(case=case, status=DeadlineStatus.OPEN, escalation__level__lt=level)
    lower.exclude(escalation=exclude).update(status=DeadlineStatus.CANCELLED, suspended_at=None)
    window = Deadline.objects.filter(case=case, status=DeadlineStatus.OPEN, kind=DeadlineKind.PLATFORM_WINDOW)
    if level == 2:
        window.update(status=DeadlineStatus.MET, met_at=at, suspended_at=None)
    elif level > 2:
        window.update(status=DeadlineStatus.CANCELLED, suspended_at=None)


def escalation_etag(escalation: Escalation) -> str:
    return f'"{escalation.pk}-{int(escalation.updated_at.timestamp() * 1_000_000)}"'


def escalation_answer(*, actor: ActorLike, escalation: Escalation, response: str | None = None,
                      responded_at: datetime | None = None, outcome: str | None = None,
                      if_match: str | None = None) -> Escalation:
    """Record the channel's answer: its clock is met; a 12315 acceptance starts the 45-working-day mediation
    clock (art. 21); a final outcome closes the escalation to further answers."""
    now = timezone.now()
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().select_related("case").get(pk=escalation.pk)
        if if_match and if_match.strip() not in ("*", escalation_etag(escalation), f"W/{escalation_etag(escalation)}"):
            raise Conflict(_("The escalation was changed by someone else (If-Match is stale); reload it and retry."),
                           code="stale_if_match")
        case = escalation.case
        if case.status not in OPEN_STATUSES:
            raise Conflict(_("A closed case (%(status)s) cannot be changed.") % {"status": case.status},
                           code="case_closed")
        if escalation.outcome in FINAL_OUTCOMES:
            raise Conflict(_("This escalation is closed (%(outcome)s); record a new one instead.")
                           % {"outcome": escalation.outcome}, code="escalation_closed")
        if response is None and outcome is None and responded_at is None:
            raise ValidationError({"response": _("Give the response, its time or the outcome.")})
        if outcome == EscalationOutcome.NO_RESPONSE:
            return _escalation_close_unanswered(actor=actor, escalation=escalation, response=response,
                                                responded_at=responded_at, now=now)
        responded_at = responded_at or escalation.responded_at or now
        not_in_future(responded_at, field="responded_at", now=now)
        if responded_at < escalation.submitted_at:
            raise ValidationError({"responded_at": _("The answer cannot come before the complaint was submitted.")})
        if outcome == EscalationOutcome.PENDING:
            raise ValidationError({"outcome": _("An answer's outcome cannot be pending.")})
        if response is not None:
            escalation.response = response
        escalation.responded_at = responded_at
        escalation.outcome = outcome or (escalation.outcome if escalation.outcome != EscalationOutcome.PENDING
                                         else EscalationOutcome.ACCEPTED)
        escalation.save()
        open_clocks = escalation.deadlines.filter(status=DeadlineStatus.OPEN)
        answer_kind = rules.ANSWER_DEADLINE_OF_CHANNEL[escalation.channel]
        if escalation.outcome in FINAL_OUTCOMES:
            open_clocks.update(status=DeadlineStatus.MET, met_at=responded_at, suspended_at=None)
        else:
            open_clocks.filter(kind=answer_kind).update(status=DeadlineStatus.MET, met_at=responded_at,
                                                        suspended_at=None)
        follow_up = rules.ON_ACCEPTANCE.get(escalation.channel)
        if (escalation.outcome == EscalationOutcome.ACCEPTED and follow_up
                and not escalation.deadlines.filter(kind=follow_up).exists()):
            # The complaint runs on the rules in force when it was submitted (not when it was accepted).
            clock = rules.clock_of_kind(follow_up, on=timezone.localtime(escalation.submitted_at).date())
            deadline = deadline_from_clock(case=case, clock=clock, starts_at=responded_at, escalation=escalation)
            deadline.save()
            escalation.due_at = deadline.due_at
            escalation.save(update_fields=["due_at", "updated_at"])
        case_event_record(case=case, actor=actor, kind=EventKind.ESCALATION_ANSWERED, occurred_at=responded_at,
                          data={"escalation": escalation.pk, "channel": escalation.channel,
                                "outcome": escalation.outcome})
    escalation.refresh_from_db()
    return escalation


def _escalation_close_unanswered(*, actor: ActorLike, escalation: Escalation, response: str | None,
                                 responded_at: datetime | None, now: datetime) -> Escalation:
    """`no_response`: the channel never answered, so the escalation closes without an answer time (an earlier
    interim answer's time is cleared too: statistics count only escalations that end answered). Its clocks
    are cancelled, not met. Runs inside escalation_answer's transaction, on the locked row."""
    if responded_at is not None:
        raise ValidationError({"responded_at": _("A no-response has no answer time; leave responded_at out.")})
    if response is not None:
        escalation.response = response
    escalation.responded_at = None
    escalation.outcome = EscalationOutcome.NO_RESPONSE
    escalation.save()
    escalation.deadlines.filter(status=DeadlineStatus.OPEN).update(status=DeadlineStatus.CANCELLED, suspended_at=None)
    case_event_record(case=escalation.case, actor=actor, kind=EventKind.ESCALATION_ANSWERED, occurred_at=now,
                      data={"escalation": escalation.pk, "channel": escalation.channel,
                            "outcome": escalation.outcome})
    escalation.refresh_from_db()
    return escalation


def calendar_day_save(*, actor: ActorLike | None, day: CalendarDay) -> int:
    """Enter or correct one override (a holiday or an adjusted working day), then recount the open deadlines.
    Returns how many of them moved."""
    day.full_clean()
    with transaction.atomic():
        day.save()
        recomputed = deadlines_recompute()
        _calendar_audit(actor, "calendar_day_save", day)
    return recomputed


def calendar_day_delete(*, actor: ActorLike | None, days: Iterable[CalendarDay]) -> int:
    """Remove overrides (the library's calendar applies again to those dates), then recount."""
    with transaction.atomic():
        for day in list(days):
            _calendar_audit(actor, "calendar_day_delete", day)
            day.delete()
        return deadlines_recompute()


def _calendar_audit(actor: ActorLike | None, action: str, day: CalendarDay) -> None:
    org_id = Actor.of(actor).organization_id
    if not org_id:
        return
    from cases.models import Organization

    audit_record(actor=actor, action=action, obj=Organization.objects.get(pk=org_id),
                 detail={"date": day.date.isoformat(), "is_working_day": day.is_working_day, "name": day.name})
