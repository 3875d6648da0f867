"""Cron expressions (5-field, Vixie cron / POSIX ``crontab(5)``): parsing and the next run after a moment.

``minute hour day-of-month month day-of-week``, each field ``*``, a number, a range ``a-b``, a list ``a,b``,
a step ``*/n`` or ``a-b/n``; months and weekdays may be named (``jan``, ``mon``); Sunday is 0 or 7; when both
day fields are restricted a day matching either runs (cron's OR rule). ``@hourly``, ``@daily``/``@midnight``,
``@weekly``, ``@monthly``, ``@yearly``/``@annually`` are accepted. Times are local wall-clock times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .errors import ConfigError

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MONTHS = {n: i for i, n in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                      "nov", "dec"), 1)}
WEEKDAYS = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, MONTHS),
           ("day of week", 0, 7, WEEKDAYS))
SEARCH_DAYS = 366 * 5  # the longest gap any satisfiable expression has is under four years (29 February)


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text.lower()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise ConfigError(f"cron {name}: {text!r} is not in {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _value(step_text, name + " step", 1, high - low + 1, {}) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if first > last:
                raise ConfigError(f"cron {name}: range {span!r} runs backwards")
        else:
            first = _value(span, name, low, high, names)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month field starts with '*'
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse ``expression``; ConfigError naming the bad field."""
        text = MACROS.get(expression.strip().lower(), expression.strip())
        parts = text.split()
        if len(parts) != 5:
            raise ConfigError(f"cron expression {expression!r} must have 5 fields: minute hour day month weekday")
        fields = [_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in fields[4])
        return cls(expression, fields[0], fields[1], fields[2], fields[3], weekdays,
                   parts[2].startswith("*"), parts[4].startswith("*"))

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom, dow = day.day in self.days, day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, moment: datetime) -> bool:
        return self._day_matches(moment.date()) and moment.hour in self.hours and moment.minute in self.minutes

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after ``moment`` (same time zone)."""
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        for offset in range(SEARCH_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour, minute in times:
                candidate = start.replace(year=day.year, month=day.month, day=day.day, hour=hour, minute=minute)
                if candidate >= start:
                    return candidate
        raise ConfigError(f"cron expression {self.expression!r} never matches")

    def period(self, moment: datetime) -> timedelta:
        """Time between the next two runs after ``moment`` (how often the job runs, roughly)."""
        first = self.next_after(moment)
        return self.next_after(first) - first
