from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("Escalation")

    def ready(self):
        from cases import events
        from evidence import events as evidence_events

        from . import receivers

        events.case_created.connect(receivers.on_case_created, dispatch_uid="escalation.case_created")
        events.case_corrected.connect(receivers.on_case_corrected, dispatch_uid="escalation.case_corrected")
        events.case_closed.connect(receivers.on_case_closed, dispatch_uid="escalation.case_closed")
        events.case_waiting_changed.connect(receivers.on_case_waiting_changed,
                                            dispatch_uid="escalation.case_waiting_changed")
        evidence_events.evidence_added.connect(receivers.on_evidence_added, dispatch_uid="escalation.evidence_added")
        evidence_events.bundle_letter_requested.connect(receivers.on_bundle_letter_requested,
                                                        dispatch_uid="escalation.bundle_letter_requested")
