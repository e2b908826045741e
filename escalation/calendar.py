"""The working-day calendar of mainland China: public holidays and adjusted working days (调休).

Three sources, strongest first:
1. `CalendarDay` rows (admin / `calendar/` API): an entry wins over everything, so a new year's
   State Council schedule (国务院办公厅关于<year>年部分节假日安排的通知) needs no release;
2. the `chinese-calendar` library, for the years it ships;
3. Monday to Friday, for a year neither knows. A due date counted that way is *provisional*: the
   deadline says so and `calendar_status()` asks supervisors to enter the schedule.

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
from chinese_calendar import constants as library_data

TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
MAX_WORKING_DAYS = 3660  # a guard against runaway loops on hostile input

LIBRARY_YEARS = frozenset({d.year for d in library_data.holidays} | {d.year for d in library_data.workdays})


@lru_cache(maxsize=8192)
def _library_is_workday(day: date) -> bool:
    return chinese_calendar.is_workday(day)


def local_date(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def end_of(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=TZ)


@dataclass
class Calendar:
    """One snapshot of the overrides (one query), used for a batch of computations."""

    overrides: dict[date, bool] = field(default_factory=dict)
    override_years: frozenset[int] = frozenset()

    @classmethod
    def load(cls) -> Calendar:
        from .models import CalendarDay

        rows = dict(CalendarDay.objects.values_list("date", "is_working_day"))
        return cls(overrides=rows, override_years=frozenset(d.year for d in rows))

    def year_known(self, year: int) -> bool:
        return year in LIBRARY_YEARS or year in self.override_years

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in LIBRARY_YEARS:
            return _library_is_workday(day)
        return day.weekday() < 5

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
        if year in cal.override_years:
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
                "entered yet: deadlines in %(year)s are counted Monday to Friday and marked provisional. "
                "A supervisor should enter the holidays and adjusted working days (调休) of %(year)s."
            ) % {"year": year})
    open_provisional = Deadline.objects.filter(status=DeadlineStatus.OPEN, provisional=True)
    if organization_id is not None:
        open_provisional = open_provisional.filter(case__organization_id=organization_id)
    provisional = open_provisional.count()
    return {"years": years, "provisional_open_deadlines": provisional, "notices": notices}
