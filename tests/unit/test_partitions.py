"""The daily window and the history months: pure date arithmetic, and where a sync request goes."""

import datetime as dt

import pytest

from auterity_pipelines.cli.sync import history_months
from auterity_pipelines.fleet import Dealership, DmsConfig
from auterity_pipelines.partitions import split_month_key, window_start


@pytest.mark.parametrize(
    ("today", "months", "first"),
    [
        (dt.date(2026, 11, 26), 6, dt.date(2026, 5, 1)),
        (dt.date(2026, 1, 1), 6, dt.date(2025, 7, 1)),
        (dt.date(2026, 6, 30), 12, dt.date(2025, 6, 1)),
        (dt.date(2026, 12, 3), -1, dt.date(2027, 1, 1)),  # the month after: how a month's end is found
    ],
)
def test_the_window_starts_on_the_first_of_a_month(today, months, first):
    assert window_start(today, months) == first


def test_a_history_key_names_its_rooftop_and_every_day_of_its_month():
    dealership, days = split_month_key("lakeside-honda|2024-02-01")
    assert dealership == "lakeside-honda"
    assert (days[0], days[-1], len(days)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29), 29)
    assert len(split_month_key("x|2025-12-01")[1]) == 31


def test_days_before_the_window_become_whole_months_once_each():
    rooftop = Dealership("a", "A", "America/Chicago", DmsConfig(kind="extract", path="/x"))
    days = [dt.date(2026, 4, 29), dt.date(2026, 4, 30), dt.date(2026, 3, 2), dt.date(2026, 5, 1)]
    recent, months = history_months([(rooftop, d) for d in days], first_day=dt.date(2026, 5, 1))
    assert recent == [(rooftop, dt.date(2026, 5, 1))]
    assert months == [(rooftop, dt.date(2026, 4, 1)), (rooftop, dt.date(2026, 3, 1))]
