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
