from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import CaseFactory, PlatformFactory

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0, ss=0):
    """A moment in Asia/Shanghai."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


@pytest.fixture
def make_case(org, platform):
    def make(organization=None, **kwargs):
        kwargs.setdefault("platform", platform)
        return CaseFactory(organization=organization or org, **kwargs)

    return make


@pytest.fixture
def case(make_case):
    return make_case()


@pytest.fixture
def other_case(make_case, other_org):
    return make_case(organization=other_org, platform=PlatformFactory())
