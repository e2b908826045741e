"""A new case asks whether its organization runs a procedure: the organizations' types are kept per process
(procedure.services.ORGANIZATION_KINDS) and read again when an organization changes; a new case's procedure
is opened without looking for one first (nobody else can see the case yet)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Organization
from procedure.models import Procedure
from tests.helpers import payload

pytestmark = pytest.mark.django_db
URL = "/api/v1/cases/"


def _file(client, platform, order):
    response = client.post(URL, payload(platform, order_number=order), format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_change_of_the_organizations_type_is_seen_by_the_next_case(shared_cache, org, user_client, platform):
    intake = user_client("intake")
    Organization.objects.filter(pk=org.pk).update(kind=Organization.Kind.HELPER)
    org.refresh_from_db()
    org.save()  # renews the kept types
    assert not Procedure.objects.filter(case_id=_file(intake, platform, "KIND-1")).exists()
    org.kind = Organization.Kind.CONSUMER_ASSOCIATION
    org.save()
    opened = Procedure.objects.get(case_id=_file(intake, platform, "KIND-2"))
    assert opened.acceptance_due_at is not None
    org.kind = Organization.Kind.HELPER
    org.save()
    assert not Procedure.objects.filter(case_id=_file(intake, platform, "KIND-3")).exists()


def test_an_organization_newer_than_the_kept_types_is_read(shared_cache, org, user_client, platform,
                                                           django_capture_on_commit_callbacks):
    from procedure.services import ORGANIZATION_KINDS

    with django_capture_on_commit_callbacks(execute=True):  # the fixtures' organizations, as if committed
        org.save()
    kept = ORGANIZATION_KINDS.get()
    # written without signals, as another process's change not yet seen here would be
    [newer] = Organization.objects.bulk_create([Organization(slug="newer-12315", name="新设 12315",
                                                             kind=Organization.Kind.MARKET_REGULATOR)])
    assert ORGANIZATION_KINDS.get() is kept and newer.pk not in kept
    intake = user_client("intake", organization=newer)
    assert Procedure.objects.filter(case_id=_file(intake, platform, "NEWER-1")).exists()


def test_a_new_cases_procedure_is_opened_without_looking_for_one(org, user_client, platform):
    org.kind = Organization.Kind.CONSUMER_ASSOCIATION
    org.save()
    intake = user_client("intake")
    _file(intake, platform, "WARM-1")
    with CaptureQueriesContext(connection) as captured:
        case_id = _file(intake, platform, "LOOK-1")
    assert Procedure.objects.filter(case_id=case_id).count() == 1
    looked = [q["sql"] for q in captured.captured_queries
              if (q["sql"] or "").startswith("SELECT") and "procedure_procedure" in (q["sql"] or "")]
    assert looked == []
