from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from cases import events

        from . import receivers

        events.case_event_recorded.connect(receivers.on_case_event_recorded,
                                           dispatch_uid="notifications.case_event_recorded")
