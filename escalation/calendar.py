"""The working-day calendar of mainland China: public holidays and adjusted working days (调休).

Four sources, strongest first:
1. `CalendarDay` rows (admin / `calendar/` API): an entry wins over everything, so a new year's
   State Council schedule (国务院办公厅关于<year>年部分节假日安排的通知) needs no release;
2. the `chinese-calendar` library, for the years it ships (published schedules, 调休 included);
3. for a year without a published schedule, the statutory holidays of 《全国年节及纪念日放假办法》
   (2024 revision: 元旦 1 day, 春节 4 days from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3; a holiday
   falling on a weekend is made up on a working day, art. 6) from the `holidays` library, and Monday to
   Friday otherwise. The 调休 swaps of such a year are unknown, so a due date counted in it is
   *provisional*: the deadline says so and `calendar_status()` asks supervisors to enter the schedule.
A year becomes final when its schedule is entered as a whole (`CalendarYear.schedule_entered`, set by
`POST calendar/` or ticked in the admin), not when a single override day is added.

Hour windows ignore all of this: they are wall-clock hours (Asia/Shanghai has no daylight saving time).
A due date in working days falls at the end (23:59:59, Asia/Shanghai) of the n-th working day after
the day the clock started, the way a statutory period (期间) is counted: from the next day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays as holidays_library
from chinese_calendar import constants as library_data

from kameng_api.core.snapshots import Snapshot

TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
MAX_WORKING_DAYS = 3660  # a guard against runaway loops on hostile input

LIBRARY_YEARS = frozenset({d.year for d in library_data.holidays} | {d.year for d in library_data.workdays})


@lru_cache(maxsize=8192)
def _library_is_workday(day: date) -> bool:
    return chinese_calendar.is_workday(day)


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[date]:
    """《全国年节及纪念日放假办法》's public holidays of `year` (with the weekday make-up days), from `holidays`."""
    return frozenset(holidays_library.China(years=year).keys())


def local_date(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def end_of(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=TZ)


@dataclass
class Calendar:
    """One snapshot of the overrides (one query), used for a batch of computations."""

    overrides: dict[date, bool] = field(default_factory=dict)
    override_years: frozenset[int] = frozenset()  # years with at least one override day
    entered_years: frozenset[int] = frozenset()  # years whose whole schedule is entered

    @classmethod
    def load(cls) -> Calendar:
        """The calendar as it stands (kept per process until a day or year changes: core/snapshots.py)."""
        return CALENDAR.get()

    @classmethod
    def read(cls) -> Calendar:
        from .models import CalendarDay, CalendarYear

        rows = dict(CalendarDay.objects.values_list("date", "is_working_day"))
        entered = frozenset(CalendarYear.objects.filter(schedule_entered=True).values_list("year", flat=True))
        return cls(overrides=rows, override_years=frozenset(d.year for d in rows), entered_years=entered)

    def year_known(self, year: int) -> bool:
        return year in LIBRARY_YEARS or year in self.entered_years

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in LIBRARY_YEARS:
            return _library_is_workday(day)
        if day in statutory_holidays(day.year):
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        for _step in range(60):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        return day

    def add_days(self, start: datetime, days: int) -> tuple[datetime, bool]:
        """(due, provisional) of a period of `days` days: it starts the next day and ends at the end of its
        last day (民法典 art. 201); a last day that is a holiday moves to the next working day (民法典 art. 203,
        民事诉讼法 art. 85)."""
        days = min(max(int(days), 0), MAX_WORKING_DAYS)
        last = local_date(start) + timedelta(days=days)
        moved = self.next_working_day(last)
        provisional = not self.year_known(last.year) or not self.year_known(moved.year)
        return end_of(moved), provisional

    def add_working_days(self, start: datetime, days: int) -> tuple[datetime, bool]:
        """(due, provisional): the end of the `days`-th working day after `start`'s date."""
        days = min(max(int(days), 0), MAX_WORKING_DAYS)
        day = local_date(start)
        provisional = False
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if not self.year_known(day.year):
                provisional = True
            if self.is_working_day(day):
                counted += 1
        if days == 0:
            return end_of(day), not self.year_known(day.year)
        return end_of(day), provisional

    def working_days_between(self, after: datetime, until: datetime) -> int:
        """Working days d with after's date < d <= until's date (0 when until is not later)."""
        first, last = local_date(after), local_date(until)
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def add_hours(start: datetime, hours: int) -> datetime:
    return (start + timedelta(hours=int(hours))).astimezone(TZ)


def calendar_status(*, today: date | None = None, organization_id=None) -> dict:
    """This year's and next year's schedule: known from the library or the overrides, or missing."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from .codes import DeadlineStatus
    from .models import Deadline

    cal = Calendar.load()
    today = today or timezone.localdate()
    years = []
    notices = []
    for year in (today.year, today.year + 1):
        if year in cal.entered_years:
            source = "overrides"
        elif year in LIBRARY_YEARS:
            source = "library"
        else:
            source = "missing"
        years.append({"year": year, "known": source != "missing", "source": source,
                      "override_days": sum(1 for d in cal.overrides if d.year == year)})
        if source == "missing":
            notices.append(_(
                "The public-holiday schedule of %(year)s (国务院办公厅关于%(year)s年部分节假日安排的通知) is not "
                "entered yet: deadlines in %(year)s are counted on the statutory holidays and Monday to Friday, "
                "and marked provisional. A supervisor should enter the holidays and adjusted working days "
                "(调休) of %(year)s and mark the year's schedule as entered."
            ) % {"year": year})
    open_provisional = Deadline.objects.filter(status=DeadlineStatus.OPEN, provisional=True)
    if organization_id is not None:
        open_provisional = open_provisional.filter(case__organization_id=organization_id)
    provisional = open_provisional.count()
    return {"years": years, "provisional_open_deadlines": provisional, "notices": notices}


CALENDAR: Snapshot[Calendar] = Snapshot("calendar", Calendar.read)
