from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("Escalation")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from cases import events
        from evidence import events as evidence_events

        from . import receivers
        from .calendar import CALENDAR
        from .lawbook import RULE_TABLE
        from .models import CalendarDay, CalendarYear, RuleVersion

        # the rule table and the calendar kept per process are read again after any change (core/snapshots.py)
        for model, snapshot in ((RuleVersion, RULE_TABLE), (CalendarDay, CALENDAR), (CalendarYear, CALENDAR)):
            for signal in (post_save, post_delete):
                signal.connect(snapshot.renew, sender=model, weak=False,
                               dispatch_uid=f"snapshot-{model.__name__}-{signal is post_save}")

        events.case_created.connect(receivers.on_case_created, dispatch_uid="escalation.case_created")
        events.case_corrected.connect(receivers.on_case_corrected, dispatch_uid="escalation.case_corrected")
        events.case_closed.connect(receivers.on_case_closed, dispatch_uid="escalation.case_closed")
        events.case_waiting_changed.connect(receivers.on_case_waiting_changed,
                                            dispatch_uid="escalation.case_waiting_changed")
        evidence_events.evidence_added.connect(receivers.on_evidence_added, dispatch_uid="escalation.evidence_added")
        evidence_events.bundle_letter_requested.connect(receivers.on_bundle_letter_requested,
                                                        dispatch_uid="escalation.bundle_letter_requested")
