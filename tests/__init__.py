"""Set before any test module loads the code location (subprocesses inherit it).

The daily partition window follows the real date; tests sync the simulator's fixed days
(tests/conftest.py NOW, November 2026), so the window must reach back to them however long
after that the tests run.
"""

import datetime as dt
import os


def _months_back_to(month: dt.date, today: dt.date) -> int:
    return (today.year - month.year) * 12 + today.month - month.month


os.environ.setdefault(
    "AUTERITY_DAILY_WINDOW_MONTHS", str(max(6, _months_back_to(dt.date(2026, 10, 1), dt.date.today())))
)
