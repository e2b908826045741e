from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from cases.models import Case
from kameng_api.core.roles import Role
from stats.models import MassIncident, MassIncidentNotice
from stats.notices import mass_incident_notice_send
from stats.spikes import spikes_detect
from tests.factories import CaseFactory, PlatformFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def traffic(platform, organization, now, per_day=2, days=28):
    for day in range(1, days + 1):
        for i in range(per_day):
            case = CaseFactory(organization=organization, platform=platform)
            Case.objects.filter(pk=case.pk).update(created_at=now - timedelta(days=day, hours=i + 1))


def burst(platform, organization, now, n):
    ids = []
    for i in range(n):
        case = CaseFactory(organization=organization, platform=platform, dispute_type="platform_absconded")
        Case.objects.filter(pk=case.pk).update(created_at=now - timedelta(minutes=10 * (i + 1)))
        ids.append(case.pk)
    return ids


@pytest.fixture
def supervisors(make_user, org, other_org):
    return [make_user(Role.SUPERVISOR, org, email="boss@org.example"),
            make_user(Role.SUPERVISOR, other_org, email="boss@other.example")]


def _send_notices():
    for notice in MassIncidentNotice.objects.filter(sent_at__isnull=True):
        mass_incident_notice_send(notice_id=notice.id)


def test_a_spike_is_detected_once_and_alerts_each_organizations_supervisors(
        org, other_org, supervisors, django_capture_on_commit_callbacks):
    now = timezone.now()
    platform = PlatformFactory(name="跑路卡盟")
    traffic(platform, org, now)
    ours = burst(platform, org, now, 20)
    theirs = burst(platform, other_org, now, 5)
    with django_capture_on_commit_callbacks(execute=False):
        incidents = spikes_detect(now=now)
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.count == 25 and incident.baseline_mean == 2.0
    assert set(incident.cases.values_list("id", flat=True)) == set(ours + theirs)
    _send_notices()
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@org.example", "boss@other.example"]
    assert "跑路卡盟" in mail.outbox[0].subject
    # The same spike an hour later: the incident grows, nobody is alerted again.
    more = burst(platform, org, now + timedelta(hours=1), 2)
    with django_capture_on_commit_callbacks(execute=False):
        again = spikes_detect(now=now + timedelta(hours=1))
    _send_notices()
    assert [i.id for i in again] == [incident.id]
    assert MassIncident.objects.count() == 1
    assert len(mail.outbox) == 2
    assert set(more) <= set(MassIncident.objects.get().cases.values_list("id", flat=True))
    assert mass_incident_notice_send(notice_id=MassIncidentNotice.objects.first().id) is False


def test_normal_traffic_is_not_a_spike(org):
    now = timezone.now()
    busy, quiet = PlatformFactory(), PlatformFactory()
    traffic(busy, org, now, per_day=12)
    burst(busy, org, now, 14)  # an ordinary busy day
    burst(quiet, org, now, 5)  # a quiet platform's bad day, below the minimum count
    assert spikes_detect(now=now) == []
    assert not MassIncident.objects.exists()


def test_supervisors_see_incidents_with_only_their_own_cases(user_client, org, other_org):
    now = timezone.now()
    platform = PlatformFactory()
    ours = burst(platform, org, now, 8)
    burst(platform, other_org, now, 8)
    spikes_detect(now=now)
    incident = MassIncident.objects.get()
    supervisor = user_client(Role.SUPERVISOR, org)
    body = supervisor.get("/api/v1/mass-incidents/").json()
    assert body["count"] == 1
    assert {c["id"] for c in body["results"][0]["cases"]} == set(ours)
    assert supervisor.get(f"/api/v1/mass-incidents/{incident.id}/").json()["count"] == 16
    assert_error(user_client(Role.ANALYST, org).get("/api/v1/mass-incidents/"), 403)
    assert_error(user_client(Role.HANDLER, org).get("/api/v1/mass-incidents/"), 403)


def test_an_incident_without_your_cases_is_404(user_client, org, other_org):
    now = timezone.now()
    platform = PlatformFactory()
    burst(platform, other_org, now, 12)
    spikes_detect(now=now)
    incident = MassIncident.objects.get()
    supervisor = user_client(Role.SUPERVISOR, org)
    assert supervisor.get("/api/v1/mass-incidents/").json()["count"] == 0
    assert_error(supervisor.get(f"/api/v1/mass-incidents/{incident.id}/"), 404)
    assert_error(supervisor.get("/api/v1/mass-incidents/99999999999999999999/"), 404)


def test_anonymous_cannot_list_incidents(anon):
    assert_error(anon.get("/api/v1/mass-incidents/"), 401)


def test_an_incident_is_presented_as_a_group_complaint_with_victims_and_amounts(user_client, org, other_org):
    now = timezone.now()
    platform = PlatformFactory(name="跑路卡盟")
    ours = burst(platform, org, now, 9)
    burst(platform, other_org, now, 6)
    # one consumer filed two of our complaints: 9 cases, 8 victims
    first, second = Case.objects.get(pk=ours[0]), Case.objects.get(pk=ours[1])
    Case.objects.filter(pk=second.pk).update(consumer=first.consumer, amount_recovered=Decimal("12.50"))
    spikes_detect(now=now)
    incident = MassIncident.objects.get()
    body = user_client(Role.SUPERVISOR, org).get(f"/api/v1/mass-incidents/{incident.id}/").json()
    own = Case.objects.filter(pk__in=ours)
    assert body["title"] == f"群体投诉：跑路卡盟（{incident.day}）"
    assert body["group"] == {
        "cases": 9, "victims": 8, "amount_disputed": f"{sum(c.amount_paid for c in own):.2f}",
        "amount_recovered": "12.50"}
    assert body["count"] == 15  # the detection counts every organization's complaints
    assert {c["amount_paid"] for c in body["cases"]} == {f"{c.amount_paid:.2f}" for c in own}


def test_the_group_complaint_has_a_joint_letter(user_client, org, other_org):
    import io

    import docx

    now = timezone.now()
    platform = PlatformFactory(name="跑路卡盟")
    ours = burst(platform, org, now, 10)
    theirs = burst(platform, other_org, now, 4)
    Case.objects.filter(pk=ours[0]).update(amount_recovered=Decimal("30.00"))
    spikes_detect(now=now)
    incident = MassIncident.objects.get()
    response = user_client(Role.SUPERVISOR, org).get(f"/api/v1/mass-incidents/{incident.id}/letter/")
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.content))
    text = "\n".join([p.text for p in document.paragraphs]
                     + [c.text for t in document.tables for r in t.rows for c in r.cells])
    own = list(Case.objects.filter(pk__in=ours))
    paid = sum(c.amount_paid for c in own)
    assert f"本组织受理其中 10 件，涉及消费者 10 人，共支付 {paid:,.2f} 元" in text
    assert f"尚有 {paid - Decimal('30.00'):,.2f} 元损失" in text
    assert all(c.reference in text for c in own)
    for case in Case.objects.filter(pk__in=theirs):
        assert case.reference not in text
    for case in own:
        for secret in (case.consumer.name, case.consumer.phone, case.consumer.id_number):
            assert secret not in text
    assert_error(user_client(Role.ANALYST, org).get(f"/api/v1/mass-incidents/{incident.id}/letter/"), 403)
    assert_error(user_client(Role.SUPERVISOR, org).get("/api/v1/mass-incidents/999999/letter/"), 404)
