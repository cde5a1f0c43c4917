"""Time: the one place a date or time given by a person or a file is parsed.

Every stored timestamp is UTC (``timestamp[us, UTC]``). People type local times: a value without a
zone is taken in the **home time zone** (setting ``time.zone``, default UTC).

One meaning of ``--from`` / ``--to`` for every command, page and asset:

- ``--from`` is inclusive; a bare date means that day's first instant (local midnight).
- ``--to`` is inclusive of what it names: a bare date means **the whole day** (the range ends at the
  next local midnight, exclusive); a date-time means up to that instant (exclusive).

:class:`TimeRange` holds the result as ``[start, end)`` in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

FROM_HELP = "start, inclusive: YYYY-MM-DD (that day's midnight) or an ISO date-time; local times are in the home time zone"
TO_HELP = "end: YYYY-MM-DD means that whole day, inclusive; an ISO date-time means up to that instant; home time zone"

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

TimeLike = str | dt.datetime | dt.date | int | float | None


def zone(name: str | dt.tzinfo | None = None) -> dt.tzinfo:
    """A time zone by IANA name (``America/Argentina/Buenos_Aires``), ``UTC`` or None (UTC)."""
    if name is None or name == "" or name == "UTC":
        return UTC
    if isinstance(name, dt.tzinfo):
        return name
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as America/Lima, or UTC)") from None


def _day_start(d: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)


def parse_instant(
    value: TimeLike, *, tz: str | dt.tzinfo | None = None, end: bool = False
) -> dt.datetime | None:
    """A datetime, date, epoch seconds or ISO string -> aware UTC datetime (None for None/"").

    Naive values are local to ``tz`` (the home zone). With ``end=True`` a bare date means the end
    of that whole day (the next local midnight, exclusive), which is what ``--to`` means."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    z = zone(tz)
    if isinstance(value, bool):
        raise ValueError(f"not a date or time: {value!r}")
    if isinstance(value, int | float):
        return EPOCH + dt.timedelta(seconds=float(value))
    if isinstance(value, dt.datetime):
        return (value.replace(tzinfo=z) if value.tzinfo is None else value).astimezone(UTC)
    if isinstance(value, dt.date):
        start = _day_start(value, z)
        return _day_start(value + dt.timedelta(days=1), z) if end else start
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return parse_instant(value.to_pydatetime(), tz=z, end=end)
    text = str(value).strip()
    if _DATE_ONLY.match(text):
        try:
            return parse_instant(dt.date.fromisoformat(text), tz=z, end=end)
        except ValueError:
            pass
    else:
        try:
            cleaned = text.replace(" ", "T", 1)
            if cleaned.endswith(("Z", "z")):
                cleaned = cleaned[:-1] + "+00:00"
            return parse_instant(dt.datetime.fromisoformat(cleaned), tz=z)
        except ValueError:
            pass
    raise ValueError(
        f"not an ISO date or time: {value!r} (e.g. 2026-05-01, 2026-05-01T08:00 or 2026-05-01T08:00:00Z)"
    )


def parse_day(value: str | dt.date) -> dt.date:
    """A calendar day ``YYYY-MM-DD`` (a partition key, a setting): ValueError otherwise."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = str(value).strip()
    if not _DATE_ONLY.match(text):
        raise ValueError(f"not a day (YYYY-MM-DD): {value!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a day (YYYY-MM-DD): {value!r}") from None


def to_epoch_us(t: dt.datetime) -> int:
    """Aware datetime -> microseconds since the epoch (the stored integer form)."""
    return int((t.astimezone(UTC) - EPOCH) / dt.timedelta(microseconds=1))


def to_epoch_s(value: TimeLike) -> float:
    """Any accepted time -> seconds since the epoch (float)."""
    t = parse_instant(value)
    if t is None:
        raise ValueError("a time is required")
    return (t - EPOCH).total_seconds()


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


@dataclass(frozen=True)
class TimeRange:
    """``[start, end)`` in UTC; None on either side means open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @classmethod
    def parse(
        cls, start: TimeLike = None, end: TimeLike = None, *, tz: str | dt.tzinfo | None = None
    ) -> TimeRange:
        """``--from`` / ``--to`` as a person gives them (see the module doc for their meaning)."""
        s = parse_instant(start, tz=tz)
        e = parse_instant(end, tz=tz, end=True)
        if s is not None and e is not None and e < s:
            raise ValueError(f"--to ({end}) is before --from ({start})")
        return cls(s, e)

    @classmethod
    def trailing(cls, days: float, *, end: TimeLike = None, tz: str | dt.tzinfo | None = None) -> TimeRange:
        """The ``days`` before ``end`` (default now; a bare date as end = that whole day)."""
        e = parse_instant(end, tz=tz, end=True) or now()
        return cls(e - dt.timedelta(days=days), e)

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.end <= self.start

    @property
    def is_open(self) -> bool:
        return self.start is None and self.end is None

    def contains(self, t: dt.datetime) -> bool:
        t = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)

    def intersect(self, other: TimeRange) -> TimeRange:
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return TimeRange(max(starts) if starts else None, min(ends) if ends else None)

    def days(self) -> list[dt.date]:
        """UTC days the range touches (for ``date`` partition pruning); needs both ends."""
        if self.start is None or self.end is None:
            raise ValueError("an open time range has no finite list of days")
        last = (self.end - dt.timedelta(microseconds=1)).date()
        d, out = self.start.date(), []
        while d <= last:
            out.append(d)
            d += dt.timedelta(days=1)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }
