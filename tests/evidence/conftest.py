from datetime import timedelta

import pytest
from django.utils import timezone

from kameng_api.core.roles import Role
from tests.factories import CaseFactory, PlatformFactory
from tests.helpers import multipart, png


@pytest.fixture
def case(org, platform):
    return CaseFactory(organization=org, platform=platform)


@pytest.fixture
def other_case(other_org):
    return CaseFactory(organization=other_org)


@pytest.fixture
def partner_case(org, partner_key):
    return CaseFactory(organization=org, filed_by_key=partner_key[0])


@pytest.fixture
def other_org_handler(user_client, other_org):
    return user_client(Role.HANDLER, other_org)


@pytest.fixture
def upload():
    def do(client, case, content=None, name="截图.png", kind="error_screenshot", occurred_at=None,
           description="激活失败", declared="image/png", headers=None, **extra):
        when = occurred_at or (case.problem_found_at + timedelta(minutes=10))
        fields = {"kind": kind, "occurred_at": when.isoformat() if hasattr(when, "isoformat") else when,
                  "description": description, **extra}
        body, content_type = multipart(fields, (name, png() if content is None else content, declared))
        return client.post(f"/api/v1/cases/{case.pk}/evidence/", data=body, content_type=content_type,
                           **(headers or {}))

    return do


@pytest.fixture
def window_platform(db):
    return PlatformFactory(complaint_window_hours=24)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test its own storage, so leftovers of one test never hide or fake another's."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
