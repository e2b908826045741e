"""The supervisors' e-mail about a mass incident (sent once per incident and organization)."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.models import User
from kameng_api.core.roles import Role

from .models import MassIncidentNotice


def mass_incident_notice_send(*, notice_id: int) -> bool:
    with transaction.atomic():
        notice = (MassIncidentNotice.objects.select_for_update().select_related("incident__platform")
                  .filter(pk=notice_id).first())
        if notice is None or notice.sent_at is not None:
            return False
        incident = notice.incident
        own = incident.cases.filter(organization_id=notice.organization_id).count()
        recipients = sorted(
            User.objects.filter(organization_id=notice.organization_id, role=Role.SUPERVISOR, is_active=True)
            .exclude(email="").values_list("email", flat=True)
        )
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Mass incident: %(platform)s, %(count)d complaints in 24 hours") % {
                "platform": incident.platform.name, "count": incident.count}
            body = _(
                "Complaints against %(platform)s rose to %(count)d in the 24 hours to %(end)s "
                "(baseline %(mean).1f per day, threshold %(threshold).1f). %(own)d of them are your "
                "organization's cases; they are grouped as mass incident #%(id)d for collective action."
            ) % {"platform": incident.platform.name, "count": incident.count,
                 "end": timezone.localtime(incident.window_end).strftime("%Y-%m-%d %H:%M"),
                 "mean": incident.baseline_mean, "threshold": incident.threshold, "own": own, "id": incident.id}
        if recipients:
            send_mail(subject, body, None, recipients)
        notice.sent_at = timezone.now()
        notice.recipients = recipients
        notice.save(update_fields=["sent_at", "recipients"])
    return True
