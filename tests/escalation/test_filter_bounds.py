"""Times in filters that the database cannot take are a 400, never a 500."""

import pytest

from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["8143-05-09T23:50:05+08:00", "2030-05-09T23:50:05-18:06",
                                   "2030-05-09T23:50:05+16:00"])
def test_deadlines_due_before_out_of_range_is_a_400(partner, value):
    assert_error(partner.get("/api/v1/deadlines/", {"due_before": value}), 400, attr="due_before")


def test_cases_created_after_with_an_impossible_offset_is_a_400(partner):
    assert_error(partner.get("/api/v1/cases/", {"created_after": "2030-05-09T23:50:05-18:06"}), 400,
                 attr="created_after")


def test_a_normal_offset_is_accepted(partner):
    assert partner.get("/api/v1/deadlines/", {"due_before": "2030-05-09T23:50:05+08:00"}).status_code == 200
