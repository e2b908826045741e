"""The rule table and the working-day calendar kept per process (kameng_api/core/snapshots.py): read once,
then again as soon as any process changes them, never an old table after a change."""

from datetime import date

import pytest

from escalation.calendar import Calendar
from escalation.codes import RuleKey
from escalation.lawbook import RuleBook
from escalation.models import CalendarDay, RuleVersion
from escalation.services import calendar_year_set
from kameng_api.core import snapshots
from kameng_api.core.snapshots import Snapshot

pytestmark = pytest.mark.django_db




def test_kept_until_a_day_changes_then_read_again(shared_cache):
    first = Calendar.load()
    assert Calendar.load() is first  # kept: no query, the same snapshot
    day = date(2031, 3, 3)  # a Monday
    assert first.is_working_day(day)
    CalendarDay.objects.create(date=day, is_working_day=False, name="测试调休")
    assert Calendar.load() is not first and not Calendar.load().is_working_day(day)


def test_a_year_entered_in_bulk_is_seen(shared_cache, org):
    Calendar.load()
    calendar_year_set(actor=None, year=2032, days=[{"date": date(2032, 1, 5), "is_working_day": False}])
    assert not Calendar.load().is_working_day(date(2032, 1, 5))
    assert Calendar.load().year_known(2032)


def test_a_new_rule_version_is_seen(shared_cache, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # as if committed
        RuleBook.load()  # an empty table is seeded on the first read (which renews the snapshot)
    book = RuleBook.load()
    assert RuleBook.load() is book
    on = date(2031, 1, 1)
    in_force = book.get(RuleKey.ACCEPTANCE_12315, on)
    row = RuleVersion.objects.get(pk=in_force.pk)
    row.value = in_force.value + 2  # a supervisor corrects the figure in the admin
    row.save()
    assert RuleBook.load().get(RuleKey.ACCEPTANCE_12315, on).value == in_force.value + 2


def test_another_process_sees_the_change_within_a_second(shared_cache, monkeypatch):
    """A second snapshot of the same name stands for another process: it holds its own copy, compares the
    shared token at most once a second, and then reads the table again."""
    other = Snapshot("calendar", Calendar.read)
    held = other.get()
    assert other.get() is held
    CalendarDay.objects.create(date=date(2031, 5, 6), is_working_day=False)
    assert other.get() is held  # within the second: not compared yet
    monkeypatch.setattr(snapshots, "TOKEN_CHECK_SECONDS", 0.0)  # the second has passed
    assert other.get() is not held and not other.get().is_working_day(date(2031, 5, 6))


def test_a_change_rolled_back_is_not_kept(shared_cache):
    from django.db import transaction

    before = Calendar.load()
    day = date(2031, 7, 7)
    try:
        with transaction.atomic():
            CalendarDay.objects.create(date=day, is_working_day=False)
            assert not Calendar.load().is_working_day(day)  # the transaction sees its own change
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert Calendar.load().is_working_day(day) and before.is_working_day(day)


def test_without_a_shared_cache_every_call_reads(settings):
    settings.KAMENG_REFERENCE_SNAPSHOTS = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert Calendar.load() is not Calendar.load()
