"""Retention periods (保管期限) and when they run out: the rule behind ``hsar disposal due``.

Codes and lengths (DA/T 22-2015, 《住房保障档案管理办法》): permanent (永久, ``Y``) never ends; long-term (长期,
``D30``) thirty years; short-term (短期, ``D10``) ten years. When the period starts depends on the archive:

- a **household archive** (住房保障对象档案) is a dynamic archive: material is added for as long as the household
  is waiting for or receiving security, so its period runs from the **end of security** (退出保障), the date of
  its ``exited`` status (``dates/end`` of the description when the status carries none); while the household is
  still waiting or provided for, the period has not started and the archive is never due;
- any other archive (a housing-unit archive, 住房保障房源档案) follows the general rule that a period starts on
  1 January of the year after the archive's closing year (文件形成年度的次年1月1日起算): the year of
  ``dates/end`` when the description has one, else its filing year (``year``).

The period ends on the same calendar day that many years later (29 February becomes 28 February); an archive is
due for disposal (到期) from that day on. Pure functions of the description: the catalogue asks them with its own
columns, the services with a parsed :class:`~repository.model.Archive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .model import Archive, ArchiveType, Retention, Status

#: Length of each retention period in years (None: permanent, never ends).
RETENTION_YEARS: dict[Retention, int | None] = {Retention.PERMANENT: None, Retention.LONG: 30, Retention.SHORT: 10}

#: How a term's start was found (a message key ``retention.rule.<rule>`` names each for people).
RULES = ("permanent", "exit", "not_exited", "closing_year")


@dataclass(frozen=True)
class RetentionTerm:
    """One archive's retention: code, start (None: not started), end (None: never or not yet known), rule."""

    retention: Retention
    rule: str
    starts: date | None
    ends: date | None

    def due(self, today: date) -> bool:
        """Whether the period has ended on ``today`` (the archive may be proposed for disposal)."""
        return self.ends is not None and self.ends <= today

    def to_dict(self) -> dict[str, object]:
        return {"retention": self.retention.value, "rule": self.rule,
                "starts": self.starts.isoformat() if self.starts else None,
                "ends": self.ends.isoformat() if self.ends else None}


def add_years(day: date, years: int) -> date:
    """``day`` that many years later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def term(retention: Retention | str, archive_type: ArchiveType | str, year: int, end: date | None,
         status: Status | str | None, status_since: date | None) -> RetentionTerm:
    """The retention term from the description's facts (the catalogue keeps the same columns)."""
    retention = Retention(retention)
    years = RETENTION_YEARS[retention]
    if ArchiveType(archive_type) is ArchiveType.HOUSEHOLD:
        exited = status_since if status is not None and Status(status) is Status.EXITED else None
        starts = exited or (end if status is not None and Status(status) is Status.EXITED else None)
        if years is None:
            return RetentionTerm(retention, "permanent", starts, None)
        if starts is None:
            return RetentionTerm(retention, "not_exited", None, None)
        return RetentionTerm(retention, "exit", starts, add_years(starts, years))
    starts = date((end.year if end is not None else year) + 1, 1, 1)
    if years is None:
        return RetentionTerm(retention, "permanent", starts, None)
    return RetentionTerm(retention, "closing_year", starts, add_years(starts, years))


def term_of(archive: Archive) -> RetentionTerm:
    """The retention term of a parsed description."""
    status = archive.household.status if archive.household is not None and archive.household.statuses else None
    return term(archive.retention, archive.type, archive.year, archive.end,
                status.status if status else None, status.since if status else None)
