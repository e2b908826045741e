from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcedureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "procedure"
    verbose_name = _("The organization's procedure")

    def ready(self):
        from cases import events

        from . import receivers

        events.case_created.connect(receivers.on_case_created, dispatch_uid="procedure.case_created")
        events.case_waiting_changed.connect(receivers.on_case_waiting_changed,
                                            dispatch_uid="procedure.case_waiting_changed")
        # the organizations' types kept per process are read again after any change (core/snapshots.py)
        from django.db.models.signals import post_delete, post_save

        from cases.models import Organization

        from .services import ORGANIZATION_KINDS

        for signal in (post_save, post_delete):
            signal.connect(ORGANIZATION_KINDS.renew, sender=Organization, weak=False,
                           dispatch_uid=f"snapshot-Organization-{signal is post_save}")
