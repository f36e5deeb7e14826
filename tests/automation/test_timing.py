"""Schedule timing: ClearML's time fields (each example of ClearML's docs), cron strings, zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taskmill.automation.timing import CronTiming, FieldTiming, Timing, zone

ANCHOR = datetime(2030, 1, 7, 10, 10, tzinfo=UTC)  # a Monday


def ticks(timing: Timing, count: int, after: datetime = ANCHOR) -> list[str]:
    out = []
    for _ in range(count):
        found = timing.next_after(after)
        if found is None:
            break
        out.append(found.strftime("%a %Y-%m-%d %H:%M"))
        after = found
    return out


def fields(**kw: object) -> FieldTiming:
    return FieldTiming(anchor=ANCHOR, **kw)  # type: ignore[arg-type]


def test_a_single_field_is_the_period_counted_from_the_anchor() -> None:
    assert ticks(fields(minute=15), 3) == [
        "Mon 2030-01-07 10:25",
        "Mon 2030-01-07 10:40",
        "Mon 2030-01-07 10:55",
    ]
    assert ticks(fields(hour=1), 2) == ["Mon 2030-01-07 11:00", "Mon 2030-01-07 12:00"]
    assert ticks(fields(day=2), 2) == ["Wed 2030-01-09 00:00", "Fri 2030-01-11 00:00"]


def test_clearml_documented_examples() -> None:
    assert ticks(fields(hour=1, minute=30), 2) == ["Mon 2030-01-07 10:30", "Mon 2030-01-07 11:30"]
    assert ticks(fields(minute=30, hour=22, day=1), 2) == ["Mon 2030-01-07 22:30", "Tue 2030-01-08 22:30"]
    assert ticks(fields(minute=30, hour=7, day=2), 2) == ["Wed 2030-01-09 07:30", "Fri 2030-01-11 07:30"]
    saturdays = fields(minute=30, hour=8, day=0, weekdays=["saturday"])
    assert ticks(saturdays, 2) == ["Sat 2030-01-12 08:30", "Sat 2030-01-19 08:30"]
    weekends = ticks(fields(hour=2, weekdays=["saturday", "sunday"]), 25)
    assert weekends[:2] == ["Sat 2030-01-12 00:00", "Sat 2030-01-12 02:00"]
    assert weekends[23] == "Sun 2030-01-13 22:00" and weekends[24] == "Sat 2030-01-19 00:00"
    assert ticks(fields(month=1, day=5), 2) == ["Tue 2030-02-05 00:00", "Tue 2030-03-05 00:00"]
    assert ticks(fields(year=1, month=3, day=4), 2) == ["Mon 2030-03-04 00:00", "Tue 2031-03-04 00:00"]


def test_a_specific_year_fires_once_and_a_past_date_never() -> None:
    assert ticks(fields(year=2031, month=1, day=1, hour=6), 3) == ["Wed 2031-01-01 06:00"]
    assert ticks(fields(year=2029, month=1, day=1), 3) == []


def test_months_without_the_day_are_skipped() -> None:
    assert ticks(fields(month=1, day=31), 3) == [
        "Thu 2030-01-31 00:00",
        "Sun 2030-03-31 00:00",
        "Fri 2030-05-31 00:00",
    ]


def test_far_from_the_anchor_the_grid_is_kept() -> None:
    later = datetime(2031, 6, 1, 0, 1, tzinfo=UTC)
    assert ticks(fields(minute=15), 1, later) == ["Sun 2031-06-01 00:10"]  # 10:10 + k * 15 min
    assert ticks(fields(day=2, hour=7), 1, later) == ["Sun 2031-06-01 07:00"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "was not provided"),
        ({"weekdays": ["funday"], "hour": 1}, "days of the week"),
        ({"weekdays": ["monday"], "day": 3, "hour": 1}, "day must be None, 0 or 1"),
        ({"minute": -5}, "non-negative integer"),
        ({"hour": 1.5}, "non-negative integer"),
    ],
)
def test_bad_fields_say_what_is_wrong(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fields(**kw)


def test_cron_fields_ranges_steps_and_names() -> None:
    assert ticks(CronTiming("*/15 * * * *"), 2) == ["Mon 2030-01-07 10:15", "Mon 2030-01-07 10:30"]
    assert ticks(CronTiming("30 2 * * 1-5"), 2) == ["Tue 2030-01-08 02:30", "Wed 2030-01-09 02:30"]
    assert ticks(CronTiming("0 9 * jan,jul mon"), 4)[3] == "Mon 2030-07-01 09:00"  # after Jan 14, 21, 28
    assert ticks(CronTiming("0 8-18/5 * * *"), 3) == [
        "Mon 2030-01-07 13:00",
        "Mon 2030-01-07 18:00",
        "Tue 2030-01-08 08:00",
    ]
    assert ticks(CronTiming("@daily"), 1) == ["Tue 2030-01-08 00:00"]
    assert ticks(CronTiming("@hourly"), 1) == ["Mon 2030-01-07 11:00"]
    assert ticks(CronTiming("0 0 * * 7"), 1) == ["Sun 2030-01-13 00:00"]  # 7 is Sunday too


def test_cron_day_of_month_or_day_of_week_when_both_are_given() -> None:
    assert ticks(CronTiming("0 0 13 * fri"), 3) == [
        "Fri 2030-01-11 00:00",
        "Sun 2030-01-13 00:00",
        "Fri 2030-01-18 00:00",
    ]


def test_cron_feb_29_is_found_years_ahead() -> None:
    assert ticks(CronTiming("0 0 29 2 *"), 1) == ["Sun 2032-02-29 00:00"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "needs 5 fields"),
        ("61 * * * *", "outside 0-59"),
        ("*/0 * * * *", "bad step"),
        ("x * * * *", "not a number"),
    ],
)
def test_bad_cron_strings_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CronTiming(expression)


def test_time_zones_move_wall_clock_ticks() -> None:
    paris = zone("Europe/Paris")
    assert ticks(CronTiming("0 2 * * *", paris), 1) == ["Tue 2030-01-08 01:00"]  # CET is UTC+1
    summer = datetime(2030, 7, 1, tzinfo=UTC)
    assert ticks(CronTiming("0 2 * * *", paris), 1, summer) == ["Tue 2030-07-02 00:00"]  # CEST is UTC+2
    new_york = FieldTiming(day=1, hour=9, tz=zone("America/New_York"), anchor=ANCHOR)
    assert ticks(new_york, 1) == ["Mon 2030-01-07 14:00"]
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")


def test_daylight_saving_changes_fire_once_a_day() -> None:
    paris = zone("Europe/Paris")
    spring = datetime(2030, 3, 30, 0, 0, tzinfo=UTC)  # clocks jump 02:00 -> 03:00 on March 31st
    assert ticks(CronTiming("30 2 * * *", paris), 3, spring) == [
        "Sat 2030-03-30 01:30",
        "Sun 2030-03-31 01:30",  # 02:30 does not exist that day: the same instant as 03:30 CEST
        "Mon 2030-04-01 00:30",
    ]
    autumn = datetime(2030, 10, 26, 0, 0, tzinfo=UTC)  # clocks go back 03:00 -> 02:00 on October 27th
    assert ticks(CronTiming("30 2 * * *", paris), 3, autumn) == [
        "Sat 2030-10-26 00:30",
        "Sun 2030-10-27 00:30",  # 02:30 happens twice: only the first fires
        "Mon 2030-10-28 01:30",
    ]
    daily = FieldTiming(day=1, hour=2, minute=30, tz=paris, anchor=spring)
    assert ticks(daily, 3, spring) == ["Sat 2030-03-30 01:30", "Sun 2030-03-31 01:30", "Mon 2030-04-01 00:30"]


def test_descriptions() -> None:
    assert fields(minute=15).describe() == "every 15 minute(s)"
    assert fields(day=1, hour=22, minute=30).describe() == "every 1 day(s) at 22:30 (UTC)"
    assert CronTiming("0 2 * * *", zone("Europe/Paris")).describe() == "cron '0 2 * * *' (Europe/Paris)"
