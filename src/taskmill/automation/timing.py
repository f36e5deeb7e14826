"""When a scheduled job is due: ClearML's time fields, cron strings, and time zones.

Pure computation (no store, no clock): :meth:`Timing.next_after` gives the first tick strictly
after a moment, as an aware UTC datetime, or None when the schedule has no more ticks.

**ClearML's fields** (``minute``, ``hour``, ``day``, ``weekdays``, ``month``, ``year``): given
alone, a field is the time *between* launches; given together, the longest one is the period and
the shorter ones pick the time inside it. Ticks of a period count from the job's *anchor* (when it
was first added), so ``day=2`` means every other day counted from that day:

* ``minute=15``: every 15 minutes from the anchor; ``hour=1, minute=30``: every hour at :30;
* ``day=1, hour=22, minute=30``: every day at 22:30; ``day=2, hour=7``: every other day at 07:00;
* ``weekdays=['saturday'], day=0, hour=8, minute=30``: every Saturday at 08:30;
  ``weekdays=['saturday', 'sunday'], hour=2``: every 2 hours (00:00, 02:00 ...) on weekends;
* ``month=1, day=5``: the 5th of every month at 00:00 (months without that day are skipped);
* ``year=1, month=3, day=4``: every March 4th; ``year=2031, month=1, day=1``: once, on that date
  (a year above 100 is a date; a date already past never fires).

**Cron strings**: five fields ``minute hour day-of-month month day-of-week`` with ``*``, lists,
ranges, ``/step`` and names (``jan``, ``mon``), or ``@hourly``, ``@daily``, ``@weekly``,
``@monthly``, ``@yearly``. When both day fields are restricted a day matching either one counts
(as in Vixie cron).

**Time zones**: wall-clock fields (hours, days, cron) are read in the job's zone (an IANA name,
default UTC as in ClearML). Across a daylight-saving change a wall time that does not exist that
day fires at the same instant an hour later, and a wall time that happens twice fires once.
Minute and hour *periods* are exact durations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SEARCH_DAYS = 366 * 8 + 2  #: cron: far enough to find a Feb 29th on a given weekday


def zone(name: str | tzinfo | None) -> tzinfo:
    """The time zone named ``name`` (IANA, e.g. ``Europe/Paris``); None or "" is UTC.

    Raises ValueError naming the zone when it is unknown.
    """
    if isinstance(name, tzinfo):
        return name
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{name}'; use an IANA name such as 'Europe/Paris' or 'UTC'"
        ) from None


def zone_name(tz: tzinfo) -> str:
    """The name to store for ``tz`` (its IANA key, or ``UTC``)."""
    return str(getattr(tz, "key", None) or "UTC")


def _at(tz: tzinfo, day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


def _local(moment: datetime, tz: tzinfo) -> datetime:
    return moment.astimezone(tz)


class Timing(ABC):
    """A schedule's ticks."""

    tz: tzinfo

    @abstractmethod
    def next_after(self, after: datetime) -> datetime | None:
        """The first tick strictly after ``after`` (aware), in UTC; None when there is none."""

    @abstractmethod
    def describe(self) -> str:
        """A short human description (``every 15 minutes``, ``cron '0 2 * * *' (UTC)``)."""


class FieldTiming(Timing):
    """ClearML's ``minute/hour/day/weekdays/month/year`` fields (see the module docstring)."""

    def __init__(
        self,
        *,
        minute: int | None = None,
        hour: int | None = None,
        day: int | None = None,
        weekdays: Sequence[str] | None = None,
        month: int | None = None,
        year: int | None = None,
        tz: tzinfo = UTC,
        anchor: datetime,
    ) -> None:
        """Check the fields (ValueError says what is wrong) and remember the anchor."""
        for label, value in (
            ("minute", minute),
            ("hour", hour),
            ("day", day),
            ("month", month),
            ("year", year),
        ):
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 0):
                raise ValueError(f"schedule `{label}` must be a non-negative integer, not {value!r}")
        days = [str(w).lower() for w in weekdays or ()]
        bad = [w for w in days if w not in WEEKDAYS]
        if bad:
            raise ValueError(f"`weekdays` must name days of the week {list(WEEKDAYS)}; got {bad}")
        if days and day not in (None, 0, 1):
            raise ValueError("`weekdays` and `day` combination is not valid (day must be None, 0 or 1)")
        if not any((minute, hour, day, month, year)):
            raise ValueError(
                "schedule time/date was not provided: give minute=, hour=, day=, month= or year= "
                "(e.g. minute=15 for every 15 minutes), or a cron string"
            )
        self.minute, self.hour, self.day = minute, hour, day
        self.month, self.year = month, year
        self.weekdays = tuple(WEEKDAYS.index(w) for w in days)
        self.tz = tz
        self.anchor = anchor.astimezone(UTC)

    def describe(self) -> str:
        """A short description of the period."""
        hm = f"{self.hour or 0:02d}:{self.minute or 0:02d}"
        names = ", ".join(WEEKDAYS[w] for w in self.weekdays)
        where = f" ({zone_name(self.tz)})"
        if self.year and self.year > 100:
            return f"once on {self.year}-{self.month or 1:02d}-{self.day or 1:02d} {hm}{where}"
        if self.year:
            return f"every {self.year} year(s) on {self.month or 1:02d}-{self.day or 1:02d} {hm}{where}"
        if self.month:
            return f"every {self.month} month(s) on day {self.day or 1} at {hm}{where}"
        if self.weekdays and self.day is not None:
            return f"on {names} at {hm}{where}"
        if self.weekdays:
            step = f"{self.hour} hour(s)" if self.hour else f"{self.minute or 1440} minute(s)"
            return f"every {step} on {names}{where}"
        if self.day:
            return f"every {self.day} day(s) at {hm}{where}"
        if self.hour:
            return f"every {self.hour} hour(s) at minute {self.minute or 0}"
        return f"every {self.minute} minute(s)"

    def next_after(self, after: datetime) -> datetime | None:
        """The first tick strictly after ``after``."""
        after = after.astimezone(UTC)
        if self.year and self.year > 100:
            return self._once(after)
        if self.year:
            return self._every_year(after)
        if self.month:
            return self._every_month(after)
        if self.weekdays:
            return self._on_weekdays(after)
        if self.day:
            return self._every_day(after)
        if self.hour:
            return self._every_hour(after)
        return self._every_minute(after)

    def _hm(self) -> tuple[int, int]:
        return int(self.hour or 0), int(self.minute or 0)

    def _once(self, after: datetime) -> datetime | None:
        try:
            day = date(int(self.year or 1), int(self.month or 1), int(self.day or 1))
        except ValueError:
            return None
        if self.weekdays:
            day += timedelta(days=(self.weekdays[0] - day.weekday()) % 7)
        tick = _at(self.tz, day, *self._hm())
        return tick if tick > after else None

    def _every_year(self, after: datetime) -> datetime | None:
        step = int(self.year or 1)
        first = _local(self.anchor, self.tz).year
        k = max(0, (_local(after, self.tz).year - first) // step - 1)
        for i in range(k, k + 400):
            try:
                day = date(first + i * step, int(self.month or 1), int(self.day or 1))
            except ValueError:  # Feb 29th in a common year
                continue
            tick = _at(self.tz, day, *self._hm())
            if tick > after:
                return tick
        return None

    def _every_month(self, after: datetime) -> datetime | None:
        step = int(self.month or 1)
        start = _local(self.anchor, self.tz)
        base = start.year * 12 + start.month - 1
        local = _local(after, self.tz)
        k = max(0, (local.year * 12 + local.month - 1 - base) // step - 1)
        for i in range(k, k + 1200):
            year, month = divmod(base + i * step, 12)
            try:
                day = date(year, month + 1, int(self.day or 1))
            except ValueError:  # a day this month does not have: skipped, as cron does
                continue
            tick = _at(self.tz, day, *self._hm())
            if tick > after:
                return tick
        return None

    def _on_weekdays(self, after: datetime) -> datetime | None:
        if self.day is not None:
            times = [self._hm()]
        else:
            step = int(self.hour) * 60 if self.hour else int(self.minute or 1440)
            offset = int(self.minute or 0) if self.hour else 0
            times = [divmod(m, 60) for m in range(offset, 1440, step)]
        first = _local(after, self.tz).date()
        for i in range(0, 9):
            day = first + timedelta(days=i)
            if day.weekday() not in self.weekdays:
                continue
            for hour, minute in times:
                tick = _at(self.tz, day, hour, minute)
                if tick > after:
                    return tick
        return None

    def _every_day(self, after: datetime) -> datetime | None:
        step = int(self.day or 1)
        first = _local(self.anchor, self.tz).date()
        k = max(0, (_local(after, self.tz).date() - first).days // step - 1)
        for i in range(k, k + 4):
            tick = _at(self.tz, first + timedelta(days=i * step), *self._hm())
            if tick > after:
                return tick
        return None

    def _every_hour(self, after: datetime) -> datetime | None:
        period = timedelta(hours=int(self.hour or 1))
        local = _local(self.anchor, self.tz)
        base = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        base += timedelta(minutes=int(self.minute or 0))
        k = max(0, int((after - base) / period))
        tick = base + k * period
        while tick <= after:
            tick += period
        return tick

    def _every_minute(self, after: datetime) -> datetime | None:
        period = timedelta(minutes=int(self.minute or 1))
        base = self.anchor.replace(second=0, microsecond=0)
        k = max(1, int((after - base) / period))
        tick = base + k * period
        while tick <= after:
            tick += period
        return tick


def _cron_values(text: str, low: int, high: int, names: Sequence[str], what: str) -> frozenset[int]:
    def number(token: str) -> int:
        token = token.strip().lower()
        if token in names:
            return names.index(token) + (low if what != "day-of-week" else 0)
        if not token.isdigit():
            raise ValueError(f"cron {what} field: '{token}' is not a number")
        return int(token)

    values: set[int] = set()
    for part in text.split(","):
        stepped = "/" in part
        body, _, step_text = part.partition("/")
        step = int(step_text) if stepped and step_text.isdigit() else 1
        if stepped and (not step_text.isdigit() or step < 1):
            raise ValueError(f"cron {what} field: bad step in '{part}'")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = number(a), number(b)
        else:
            first = number(body)
            last = high if stepped else first
        if not low <= first <= last <= high:
            raise ValueError(f"cron {what} field: '{part}' is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


class CronTiming(Timing):
    """A five-field cron expression read in a time zone (see the module docstring)."""

    def __init__(self, expression: str, tz: tzinfo = UTC) -> None:
        """Parse ``expression``; ValueError names the bad field."""
        text = _MACROS.get(expression.strip().lower(), expression.strip())
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(
                f"cron string '{expression}' needs 5 fields (minute hour day-of-month month day-of-week), "
                f"e.g. '30 2 * * 1-5', or one of {sorted(_MACROS)}"
            )
        self.expression = expression
        self.tz = tz
        self.minutes = sorted(_cron_values(fields[0], 0, 59, (), "minute"))
        self.hours = sorted(_cron_values(fields[1], 0, 23, (), "hour"))
        self.days = _cron_values(fields[2], 1, 31, (), "day-of-month")
        self.months = _cron_values(fields[3], 1, 12, _MONTHS, "month")
        self.dows = frozenset(d % 7 for d in _cron_values(fields[4], 0, 7, _DOW, "day-of-week"))
        self._any_day = fields[2].startswith("*")
        self._any_dow = fields[4].startswith("*")

    def describe(self) -> str:
        """``cron '<expression>' (<zone>)``."""
        return f"cron '{self.expression}' ({zone_name(self.tz)})"

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.dows  # cron counts from Sunday = 0
        if self._any_day and self._any_dow:
            return True
        if self._any_day:
            return dow
        if self._any_dow:
            return dom
        return dom or dow

    def next_after(self, after: datetime) -> datetime | None:
        """The first matching minute strictly after ``after``."""
        after = after.astimezone(UTC)
        local = _local(after, self.tz)
        first = local.date()
        for i in range(_SEARCH_DAYS):
            day = first + timedelta(days=i)
            if not self._day_matches(day):
                continue
            for hour in self.hours:
                if i == 0 and hour < local.hour - 1:  # earlier hours of today are past (DST: keep 1 h)
                    continue
                for minute in self.minutes:
                    tick = _at(self.tz, day, hour, minute)
                    if tick > after:
                        return tick
        return None
