"""The working-day calendar against a hand-made table of the 2026 schedule.

国务院办公厅关于2026年部分节假日安排的通知: 春节 2月15日(周日)至23日(周一)放假, 2月14日(周六)、2月28日(周六)上班;
中秋节 9月25日至27日; 国庆节 10月1日(周四)至7日(周三)放假, 9月20日(周日)、10月10日(周六)上班.
(The make-up day before National Day is Sunday 20 September, not a Saturday.)
"""

from datetime import date, datetime

import pytest

from escalation.calendar import LIBRARY_YEARS, Calendar, add_hours, calendar_status
from escalation.models import CalendarDay, CalendarYear

from .conftest import SH, at

WORKING = True
OFF = False
EXPECTED_2026 = {
    date(2026, 2, 13): WORKING,  # Friday before the holiday
    date(2026, 2, 14): WORKING,  # Saturday, make-up working day (调休)
    **{date(2026, 2, d): OFF for d in range(15, 24)},  # Spring Festival, 15-23 February
    date(2026, 2, 24): WORKING,
    date(2026, 2, 28): WORKING,  # Saturday, make-up working day
    date(2026, 3, 1): OFF,  # an ordinary Sunday
    date(2026, 9, 19): OFF,  # an ordinary Saturday
    date(2026, 9, 20): WORKING,  # Sunday, make-up working day for National Day
    **{date(2026, 9, d): OFF for d in (25, 26, 27)},  # Mid-autumn
    **{date(2026, 10, d): OFF for d in range(1, 8)},  # National Day, 1-7 October
    date(2026, 10, 8): WORKING,
    date(2026, 10, 10): WORKING,  # Saturday, make-up working day
    date(2026, 10, 11): OFF,
}


def end(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=SH)


@pytest.mark.parametrize(("day", "working"), sorted(EXPECTED_2026.items()))
def test_2026_days_match_the_state_council_schedule(day, working):
    assert Calendar().is_working_day(day) is working


@pytest.mark.parametrize(("start", "days", "due"), [
    (at(2026, 2, 9), 7, end(2026, 2, 25)),  # 10,11,12,13, Sat 14 (make-up), [15-23 off], 24, 25
    (at(2026, 2, 12), 3, end(2026, 2, 24)),  # 13, Sat 14, [holiday], 24
    (at(2026, 2, 26), 2, end(2026, 2, 28)),  # 27, Sat 28 (make-up)
    (at(2026, 9, 18), 7, end(2026, 9, 29)),  # Sun 20 (make-up), 21-24, [25-27 off], 28, 29
    (at(2026, 9, 29), 3, end(2026, 10, 9)),  # 30, [Oct 1-7 off], 8, 9
    (at(2026, 9, 29), 4, end(2026, 10, 10)),  # ... Sat 10 (make-up)
    (at(2026, 2, 15, 23, 30), 1, end(2026, 2, 24)),  # received on a holiday: counted from the next working day
])
def test_working_day_due_dates_across_spring_festival_and_national_day(start, days, due):
    result, provisional = Calendar().add_working_days(start, days)
    assert result == due
    assert provisional is False


def test_hour_windows_are_wall_clock_hours_even_over_the_holiday():
    assert add_hours(at(2026, 2, 14, 10), 48) == at(2026, 2, 16, 10)
    assert add_hours(at(2026, 9, 30, 22), 24) == at(2026, 10, 1, 22)


def test_working_days_between_skips_the_holiday():
    assert Calendar().working_days_between(at(2026, 2, 12), at(2026, 2, 25, 23)) == 4  # 13, 14, 24, 25


@pytest.mark.django_db
def test_override_wins_over_the_library():
    CalendarDay.objects.create(date=date(2026, 2, 24), is_working_day=False, name="local extra day")
    result, _ = Calendar.load().add_working_days(at(2026, 2, 9), 7)
    assert result == end(2026, 2, 26)


def test_an_unpublished_year_counts_its_statutory_holidays_and_is_provisional():
    if 2027 in LIBRARY_YEARS:
        pytest.skip("the library now ships 2027")
    result, provisional = Calendar().add_working_days(at(2026, 12, 28), 7)
    # 29, 30, 31 (2026, known), Fri 1 Jan 2027 is 元旦 (statutory), then 4, 5, 6, 7
    assert result == end(2027, 1, 7)
    assert provisional is True
    assert Calendar().add_working_days(at(2026, 12, 1), 3)[1] is False


@pytest.mark.django_db
def test_status_names_the_missing_year_and_only_the_entered_flag_makes_it_known():
    if 2027 in LIBRARY_YEARS:
        pytest.skip("the library now ships 2027")
    status = calendar_status(today=date(2026, 11, 22))
    assert [y["year"] for y in status["years"]] == [2026, 2027]
    assert status["years"][0]["source"] == "library"
    assert status["years"][1] == {"year": 2027, "known": False, "source": "missing", "override_days": 0}
    assert len(status["notices"]) == 1 and "2027" in status["notices"][0]
    CalendarDay.objects.create(date=date(2027, 1, 1), is_working_day=False, name="元旦")
    status = calendar_status(today=date(2026, 11, 22))
    assert status["years"][1]["known"] is False and len(status["notices"]) == 1  # one day is not a schedule
    CalendarYear.objects.create(year=2027, schedule_entered=True)
    status = calendar_status(today=date(2026, 11, 22))
    assert status["years"][1]["known"] is True and status["notices"] == []
