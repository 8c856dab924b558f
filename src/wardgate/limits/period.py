"""UTC reset periods: day, ISO week (from Monday), calendar month. Same arithmetic as the
Redis script (``admit.lua``), so both backends agree on when a period starts and ends."""

from __future__ import annotations

import datetime as dt

__all__ = ["period_bounds"]

_DAY = 86400


def period_bounds(period: str, now: float) -> tuple[int, int]:
    """(start, end) in epoch seconds of the period containing ``now``; (0, 0) for ``none``."""
    days = int(now // _DAY)
    if period == "day":
        return days * _DAY, (days + 1) * _DAY
    if period == "week":
        monday = days - ((days + 3) % 7)  # 1970-01-01 was a Thursday
        return monday * _DAY, (monday + 7) * _DAY
    if period == "month":
        d = dt.date(1970, 1, 1) + dt.timedelta(days=days)
        start = dt.date(d.year, d.month, 1)
        end = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        epoch = dt.date(1970, 1, 1)
        return (start - epoch).days * _DAY, (end - epoch).days * _DAY
    return 0, 0
