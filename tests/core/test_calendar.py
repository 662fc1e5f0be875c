"""Clocks: HIPCOM's business calendar (Mon–Fri 09:00–18:00 Europe/Paris, French holidays) and 24/7."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from escalade.core.calendar import (
    BusinessCalendar,
    NaiveDatetimeError,
    OpeningRange,
    TwentyFourSeven,
    from_us,
    parse_range,
    to_us,
)

PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)


def paris(y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS, fold=fold)


def local(instant: datetime) -> str:
    return instant.astimezone(PARIS).isoformat()


# -- opening hours ---------------------------------------------------------------------------------


def test_take_charge_of_four_business_hours_within_one_day(business: BusinessCalendar) -> None:
    # Tuesday 2026-02-24 10:00 + 4 business hours = 14:00 the same day.
    assert local(business.add(paris(2026, 2, 24, 10), 4 * H)) == "2026-02-24T14:00:00+01:00"


def test_clock_started_at_night_starts_counting_at_nine(business: BusinessCalendar) -> None:
    assert local(business.add(paris(2026, 2, 24, 2, 30), 4 * H)) == "2026-02-24T13:00:00+01:00"
    assert local(business.add(paris(2026, 2, 24, 20), 4 * H)) == "2026-02-25T13:00:00+01:00"


def test_clock_started_on_a_weekend_starts_counting_monday_at_nine(business: BusinessCalendar) -> None:
    # Saturday 2026-02-28 and Sunday 2026-03-01 are closed.
    assert local(business.add(paris(2026, 2, 28, 11), 4 * H)) == "2026-03-02T13:00:00+01:00"
    assert local(business.add(paris(2026, 3, 1, 23, 59), 4 * H)) == "2026-03-02T13:00:00+01:00"


def test_deadline_landing_exactly_at_closing_time_is_18h_not_next_morning(
    business: BusinessCalendar,
) -> None:
    assert local(business.add(paris(2026, 2, 24, 14), 4 * H)) == "2026-02-24T18:00:00+01:00"
    # The whole day, from opening to closing: 9 h end at 18:00 too.
    assert local(business.add(paris(2026, 2, 24, 9), 9 * H)) == "2026-02-24T18:00:00+01:00"


def test_one_minute_more_than_the_day_carries_to_next_morning(business: BusinessCalendar) -> None:
    due = business.add(paris(2026, 2, 24, 14), 4 * H + timedelta(minutes=1))
    assert local(due) == "2026-02-25T09:01:00+01:00"


def test_deadline_carries_over_the_night(business: BusinessCalendar) -> None:
    # Tuesday 16:00: 2 h on Tuesday, 2 h on Wednesday from 09:00.
    assert local(business.add(paris(2026, 2, 24, 16), 4 * H)) == "2026-02-25T11:00:00+01:00"


def test_deadline_carries_over_the_weekend(business: BusinessCalendar) -> None:
    # Friday 2026-02-27 16:00 → Monday 2026-03-02 11:00.
    assert local(business.add(paris(2026, 2, 27, 16), 4 * H)) == "2026-03-02T11:00:00+01:00"


def test_opening_instant_itself_counts(business: BusinessCalendar) -> None:
    assert business.is_open(paris(2026, 2, 24, 9))
    assert not business.is_open(paris(2026, 2, 24, 18))
    assert business.is_open(paris(2026, 2, 24, 17, 59))
    assert not business.is_open(paris(2026, 2, 24, 8, 59))
    assert not business.is_open(paris(2026, 2, 28, 12))  # Saturday


def test_zero_duration_is_the_start_itself(business: BusinessCalendar) -> None:
    start = paris(2026, 2, 28, 11)
    assert business.add(start, timedelta(0)) == start
    assert business.subtract(start, timedelta(0)) == start


# -- French public holidays --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "due", "holiday"),
    [
        # Ascension, Thursday 2026-05-14.
        (paris(2026, 5, 13, 16), "2026-05-15T11:00:00+02:00", "Ascension"),
        # Whit Monday (lundi de Pentecôte), 2026-05-25: Friday 16:00 → Tuesday 11:00.
        (paris(2026, 5, 22, 16), "2026-05-26T11:00:00+02:00", "Whit Monday"),
        # 1 May 2026 is a Friday: Thursday 16:00 → Monday 4 May 11:00.
        (paris(2026, 4, 30, 16), "2026-05-04T11:00:00+02:00", "1 May"),
        # 14 July 2026 is a Tuesday.
        (paris(2026, 7, 13, 16), "2026-07-15T11:00:00+02:00", "14 July"),
        # Christmas 2026 is a Friday: Thursday 24 December 16:00 → Monday 28 December 11:00.
        (paris(2026, 12, 24, 16), "2026-12-28T11:00:00+01:00", "Christmas"),
        # Easter Monday 2026-04-06.
        (paris(2026, 4, 3, 16), "2026-04-07T11:00:00+02:00", "Easter Monday"),
    ],
)
def test_french_public_holidays_do_not_count(
    business: BusinessCalendar, opened: datetime, due: str, holiday: str
) -> None:
    assert local(business.add(opened, 4 * H)) == due, holiday


@pytest.mark.parametrize(
    "day", [date(2026, 5, 14), date(2026, 5, 25), date(2026, 5, 1), date(2026, 7, 14), date(2026, 12, 25)]
)
def test_holidays_are_closed_all_day(business: BusinessCalendar, day: date) -> None:
    assert not business.is_open(datetime.combine(day, time(12), tzinfo=PARIS))
    assert business.holidays_of([day.year]).get(day)


def test_incident_opened_on_a_holiday_starts_counting_next_business_morning(
    business: BusinessCalendar,
) -> None:
    assert local(business.add(paris(2026, 5, 14, 10), 4 * H)) == "2026-05-15T13:00:00+02:00"


# -- DST days (2026-03-29 and 2026-10-25) -------------------------------------------------------------


def test_low_resolution_of_96_business_hours_across_spring_dst_and_easter(
    business: BusinessCalendar,
) -> None:
    # Monday 2026-03-23 09:00 (+01:00): 10 business days are 90 h (to Friday 2026-04-03 18:00, after
    # the switch to +02:00 on Sunday 2026-03-29); Easter Monday 2026-04-06 is closed; 6 h more on Tuesday.
    due = business.add(paris(2026, 3, 23, 9), 96 * H)
    assert local(due) == "2026-04-07T15:00:00+02:00"


def test_low_take_charge_across_spring_dst_weekend(business: BusinessCalendar) -> None:
    # Friday 2026-03-27 16:00 (+01:00) → Monday 2026-03-30 11:00 (+02:00): 2 h + 2 h of business time,
    # although the wall clock lost an hour on Sunday.
    assert local(business.add(paris(2026, 3, 27, 16), 4 * H)) == "2026-03-30T11:00:00+02:00"
    assert business.elapsed(paris(2026, 3, 27, 16), paris(2026, 3, 30, 11)) == 4 * H


def test_low_take_charge_across_autumn_dst_weekend(business: BusinessCalendar) -> None:
    # Friday 2026-10-23 16:00 (+02:00) → Monday 2026-10-26 11:00 (+01:00).
    assert local(business.add(paris(2026, 10, 23, 16), 4 * H)) == "2026-10-26T11:00:00+01:00"
    assert business.elapsed(paris(2026, 10, 23, 16), paris(2026, 10, 26, 11)) == 4 * H


def test_low_resolution_of_96_business_hours_across_autumn_dst(business: BusinessCalendar) -> None:
    # Monday 2026-10-19 09:00: 90 h to Friday 2026-10-30 18:00, then 6 h on Monday 2026-11-02
    # (1 November 2026, a holiday, is a Sunday).
    due = business.add(paris(2026, 10, 19, 9), 96 * H)
    assert local(due) == "2026-11-02T15:00:00+01:00"


def test_incident_opened_during_the_dst_night_waits_for_monday(business: BusinessCalendar) -> None:
    # Sunday 2026-03-29 02:30 does not exist; 03:30+02:00 does. Sunday 2026-10-25 02:30 exists twice.
    assert local(business.add(paris(2026, 3, 29, 3, 30), 4 * H)) == "2026-03-30T13:00:00+02:00"
    for fold in (0, 1):
        opened = paris(2026, 10, 25, 2, 30, fold=fold)
        assert local(business.add(opened, 4 * H)) == "2026-10-26T13:00:00+01:00"


def test_24_7_adds_absolute_time_on_spring_dst_day() -> None:
    clock = TwentyFourSeven()
    opened = paris(2026, 3, 29, 1, 30)  # +01:00, 00:30 UTC
    assert local(clock.add(opened, timedelta(minutes=30))) == "2026-03-29T03:00:00+02:00"
    assert local(clock.add(opened, 4 * H)) == "2026-03-29T06:30:00+02:00"
    assert clock.elapsed(opened, paris(2026, 3, 29, 6, 30)) == 4 * H


def test_24_7_adds_absolute_time_on_autumn_dst_day() -> None:
    clock = TwentyFourSeven()
    opened = paris(2026, 10, 25, 1, 30)  # +02:00, 23:30 UTC the day before
    assert local(clock.add(opened, timedelta(minutes=30))) == "2026-10-25T02:00:00+02:00"
    assert local(clock.add(opened, H)) == "2026-10-25T02:30:00+02:00"
    assert local(clock.add(opened, 2 * H)) == "2026-10-25T02:30:00+01:00"
    assert local(clock.add(opened, 4 * H)) == "2026-10-25T04:30:00+01:00"
    assert clock.elapsed(opened, paris(2026, 10, 25, 4, 30)) == 4 * H


def test_24_7_medium_resolution_of_48_hours_across_both_dst_days() -> None:
    clock = TwentyFourSeven()
    assert local(clock.add(paris(2026, 3, 28, 10), 48 * H)) == "2026-03-30T11:00:00+02:00"
    assert local(clock.add(paris(2026, 10, 24, 10), 48 * H)) == "2026-10-26T09:00:00+01:00"


def test_24_7_subtract_and_elapsed_never_negative() -> None:
    clock = TwentyFourSeven()
    start = paris(2026, 3, 29, 1, 30)
    assert clock.subtract(clock.add(start, 4 * H), 4 * H) == start
    assert clock.elapsed(start, start - H) == timedelta(0)


# -- elapsed, subtract -------------------------------------------------------------------------------


def test_elapsed_counts_only_business_time(business: BusinessCalendar) -> None:
    assert business.elapsed(paris(2026, 2, 27, 17), paris(2026, 3, 2, 10)) == 2 * H
    assert business.elapsed(paris(2026, 2, 28, 0), paris(2026, 3, 2, 0)) == timedelta(0)
    assert business.elapsed(paris(2026, 3, 2, 10), paris(2026, 2, 27, 17)) == timedelta(0)
    # A whole week: 5 × 9 h.
    assert business.elapsed(paris(2026, 2, 23), paris(2026, 3, 2)) == 45 * H


def test_subtract_gives_latest_start(business: BusinessCalendar) -> None:
    assert local(business.subtract(paris(2026, 3, 2, 10), H)) == "2026-03-02T09:00:00+01:00"
    assert local(business.subtract(paris(2026, 3, 2, 9, 30), H)) == "2026-02-27T17:30:00+01:00"
    assert local(business.subtract(paris(2026, 3, 2, 9), H)) == "2026-02-27T17:00:00+01:00"
    # From a closed instant: Saturday noon minus 1 h is Friday 17:00.
    assert local(business.subtract(paris(2026, 2, 28, 12), H)) == "2026-02-27T17:00:00+01:00"


def test_subtract_reaches_back_across_years(business: BusinessCalendar) -> None:
    end = paris(2026, 1, 2, 10)  # Friday after New Year's Day
    start = business.subtract(end, 20 * H)
    assert local(start) == "2025-12-29T17:00:00+01:00"
    assert business.elapsed(start, end) == 20 * H


def test_add_far_ahead_extends_the_table(business: BusinessCalendar) -> None:
    start = paris(2026, 2, 24, 9)
    duration = 9 * H * 5 * 52 * 3  # about three years of business time
    due = business.add(start, duration)
    assert business.elapsed(start, due) == duration


def test_openings_lists_what_counted(business: BusinessCalendar) -> None:
    spans = business.openings(paris(2026, 2, 27, 17), paris(2026, 3, 2, 10))
    assert [(local(a), local(b)) for a, b in spans] == [
        ("2026-02-27T17:00:00+01:00", "2026-02-27T18:00:00+01:00"),
        ("2026-03-02T09:00:00+01:00", "2026-03-02T10:00:00+01:00"),
    ]


# -- the vectorized path ------------------------------------------------------------------------------


def test_add_many_matches_add(business: BusinessCalendar) -> None:
    starts = [paris(2026, 5, 13, 16), paris(2026, 3, 27, 16), paris(2026, 2, 24, 14), paris(2026, 12, 24, 20)]
    array = np.array([to_us(s) for s in starts], dtype=np.int64)
    for duration in (4 * H, 96 * H, timedelta(minutes=1)):
        got = business.add_many(array, duration)
        assert [from_us(int(us)) for us in got] == [business.add(s, duration) for s in starts]


def test_add_many_of_nothing_or_zero(business: BusinessCalendar) -> None:
    empty = np.array([], dtype=np.int64)
    assert business.add_many(empty, 4 * H).size == 0
    array = np.array([to_us(paris(2026, 2, 28, 11))], dtype=np.int64)
    assert business.add_many(array, timedelta(0)).tolist() == array.tolist()


def test_24_7_add_many() -> None:
    array = np.array([to_us(paris(2026, 3, 29, 1, 30))], dtype=np.int64)
    got = TwentyFourSeven().add_many(array, 4 * H)
    assert local(from_us(int(got[0]))) == "2026-03-29T06:30:00+02:00"


# -- instants and ranges --------------------------------------------------------------------------------


def test_naive_instant_is_refused(business: BusinessCalendar) -> None:
    with pytest.raises(NaiveDatetimeError):
        to_us(datetime(2026, 2, 24, 10))  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError):
        business.add(datetime(2026, 2, 24, 10), H)  # noqa: DTZ001


def test_epoch_microseconds_round_trip() -> None:
    instant = datetime(2026, 10, 25, 0, 59, 59, 999_999, tzinfo=UTC)
    assert from_us(to_us(instant)) == instant
    assert from_us(to_us(instant), PARIS).isoformat() == "2026-10-25T02:59:59.999999+02:00"


def test_parse_range() -> None:
    assert parse_range("09:00-18:00") == OpeningRange(time(9), time(18))
    assert parse_range("20:00-24:00") == OpeningRange(time(20), None)
    with pytest.raises(ValueError, match="plage horaire invalide"):
        parse_range("18:00-09:00")
    with pytest.raises(ValueError, match="plage horaire invalide"):
        parse_range("9h-18h")


def test_calendar_with_night_ranges_merges_midnight() -> None:
    # Open 20:00–24:00 on Monday and 00:00–06:00 on Tuesday: one opening of 10 h.
    calendar = BusinessCalendar(
        "nuit",
        PARIS,
        {0: (OpeningRange(time(20), None),), 1: (OpeningRange(time(0), time(6)),)},
    )
    assert local(calendar.add(paris(2026, 2, 23, 20), 10 * H)) == "2026-02-24T06:00:00+01:00"
    assert calendar.openings(paris(2026, 2, 23), paris(2026, 2, 25)) == [
        (paris(2026, 2, 23, 20), paris(2026, 2, 24, 6))
    ]


def test_range_boundaries_skipped_by_spring_dst_are_the_change_itself() -> None:
    # Sunday open 00:00–02:30 and 02:45–04:00. On 2026-03-29 the wall clock jumps from 02:00 to 03:00:
    # the first range ends and the second starts at the change, so 00:00–04:00 counts 3 h, not more.
    calendar = BusinessCalendar(
        "dst",
        PARIS,
        {6: (OpeningRange(time(0), time(2, 30)), OpeningRange(time(2, 45), time(4)))},
    )
    day = paris(2026, 3, 29)
    assert calendar.elapsed(day, paris(2026, 3, 29, 5)) == 3 * H
    assert calendar.openings(day, paris(2026, 3, 29, 5)) == [(day, paris(2026, 3, 29, 4))]
    assert not calendar.is_open(paris(2026, 3, 29, 4))
    # An ordinary Sunday: 2 h 30 + 1 h 15.
    assert calendar.elapsed(paris(2026, 3, 22), paris(2026, 3, 22, 5)) == 3 * H + 45 * timedelta(minutes=1)


def test_range_boundary_in_the_repeated_autumn_hour_is_its_first_occurrence() -> None:
    # Interpretation: on 2026-10-25 02:30 happens twice; a range 00:00–02:30 ends the first time.
    calendar = BusinessCalendar("dst", PARIS, {6: (OpeningRange(time(0), time(2, 30)),)})
    day = paris(2026, 10, 25)
    assert calendar.openings(day, paris(2026, 10, 25, 5)) == [(day, paris(2026, 10, 25, 2, 30, fold=0))]
    assert calendar.elapsed(day, paris(2026, 10, 25, 5)) == 2 * H + 30 * timedelta(minutes=1)


# -- a table shared between threads -----------------------------------------------------------------------


def _fresh(calendar: BusinessCalendar) -> BusinessCalendar:
    return BusinessCalendar(
        name=calendar.name,
        tz=calendar.tz,
        weekly=calendar.weekly,
        country=calendar.country,
        subdivision=calendar.subdivision,
        closed_dates=calendar.closed_dates,
        open_dates=calendar.open_dates,
        label=calendar.label,
    )


def test_add_stays_right_when_the_table_is_rebuilt_from_an_earlier_year_meanwhile(
    business: BusinessCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving of two threads, replayed: `add` computed its target against the table it
    read; before it extends that table, another thread rebuilds it from a much earlier year."""
    calendar = _fresh(business)
    start = datetime(2026, 6, 1, 9, tzinfo=UTC)
    calendar.add(start, timedelta(hours=1))  # a table of 2025–2027 only
    extend = BusinessCalendar._extended_forward

    def meanwhile(self: BusinessCalendar, table: object, target: int) -> object:
        self.is_open(datetime(1995, 3, 1, tzinfo=UTC))  # the other thread: back to 1994
        return extend(self, table, target)  # type: ignore[arg-type]

    far = timedelta(hours=9 * 250 * 4)  # four years of business hours: beyond the table
    expected = _fresh(business).add(start, far)
    assert expected.year == 2030
    monkeypatch.setattr(BusinessCalendar, "_extended_forward", meanwhile)
    assert calendar.add(start, far) == expected
    monkeypatch.undo()
    assert calendar.add(start, far) == expected


def test_threads_asking_far_past_and_far_future_get_a_fresh_calendars_answers(business: BusinessCalendar) -> None:
    import random
    import sys
    import threading

    calendar = _fresh(business)
    calendar.add(datetime(2026, 6, 1, tzinfo=UTC), timedelta(hours=1))  # only recent years in the table
    questions = [
        (datetime(year, month, 3, 8, tzinfo=UTC), timedelta(hours=hours))
        for year in (1991, 1998, 2005, 2026, 2031)
        for month in (1, 7)
        for hours in (1, 900, 9 * 250 * 6)
    ]
    expected = {q: _fresh(business).add(*q) for q in questions}
    answers: list[tuple[tuple[datetime, timedelta], datetime]] = []
    errors: list[BaseException] = []

    def ask(order: list[tuple[datetime, timedelta]]) -> None:
        try:
            for q in order:
                answers.append((q, calendar.add(*q)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        orders = [random.Random(seed).sample(questions, len(questions)) for seed in range(8)]
        threads = [threading.Thread(target=ask, args=(order,)) for order in orders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    assert len(answers) == 8 * len(questions)
    assert [q for q, answer in answers if answer != expected[q]] == []
