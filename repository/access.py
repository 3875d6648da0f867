"""The access decision (利用权限): who may see which archive, what of it, and what they may do.

One module answers every view, API route, search, count, statistic and download (as Datasette's
``permissions.py`` does), so "who may see what" lives in one place:

- **Roles.** ``admin`` (系统管理员) does everything; ``archivist`` (档案员) ingests, audits and sees the full
  records of their divisions; ``auditor`` (审计员) reads reports, logs and the access register, and sees
  archives only as masked catalogue entries; ``researcher`` (利用者) searches and reads with personal data
  masked, and sees ``restricted`` (控制使用) archives only as their catalogue entry.
- **Division scope (统一领导、分级管理).** Every principal has a GB/T 2260 scope: a province, city or district
  covers everything below it (a district's six digits cover its nine-digit streets), a street only itself,
  and :data:`NATIONAL` (``000000``) the whole country. Outside the scope an archive does not exist for that
  principal: callers answer 404, never 403. A malformed scope sees nothing (fail closed).
- **Audit reports.** Below the national scope, only the report of a run confined to a division within the
  scope (:func:`may_read_report`, :func:`covering_scope`): a run over the whole store is national.
- **Linked archives (房户对接).** A link of an archive in scope to one outside it is shown without naming the
  other (:func:`link_shown`, :func:`linked_in_scope`): the page, the API and an access copy alike.
- **Values typed elsewhere.** A value someone else typed that may name an archive (the paper register's
  archive identifier or 档号 in a reconciliation finding) is shown to a scope only when every archive it names
  lies within it (:func:`naming_scope`, :func:`scope_sees`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .divisions import NATIONAL, level_of, shape_parent
from .model import Access


class Role(StrEnum):
    ADMIN = "admin"  # 系统管理员
    ARCHIVIST = "archivist"  # 档案员
    AUDITOR = "auditor"  # 审计员
    RESEARCHER = "researcher"  # 利用者


class Action(StrEnum):
    """Things a role may do, whatever the archive (the archive's own rules: :func:`may_see` and friends)."""

    SEARCH = "search"  # search and list catalogue entries, counts, facets, statistics
    VIEW_RECORD = "view_record"  # an archive's record beyond its catalogue entry (items, people, versions)
    DOWNLOAD = "download"  # open or download a document (also needs may_open_documents)
    EXPORT = "export"  # metadata exports of records
    INGEST = "ingest"
    AUDIT = "audit"  # see audit results of archives
    START_AUDIT = "start_audit"
    READ_REPORTS = "read_reports"  # audit and ingest reports
    READ_LOGS = "read_logs"  # the audit log
    READ_REGISTER = "read_register"  # the access register (利用登记), list and filter
    EXPORT_REGISTER = "export_register"
    READ_SECURITY_LOG = "read_security_log"  # the security log (安全审计日志): sign-ins, account changes
    MANAGE_USERS = "manage_users"
    MAINTAIN = "maintain"  # rebuild the catalogue or index, replicate
    DISPOSE = "dispose"  # propose, approve or reject the disposal (销毁) of archives whose retention ended
    REVIEW_SCANS = "review_scans"  # review (开放审核) the proposed researchers' copies of scans: approve or reject


_PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.ARCHIVIST: frozenset({Action.SEARCH, Action.VIEW_RECORD, Action.DOWNLOAD, Action.EXPORT, Action.INGEST,
                               Action.AUDIT, Action.START_AUDIT, Action.READ_REPORTS, Action.READ_LOGS,
                               Action.DISPOSE, Action.REVIEW_SCANS}),
    Role.AUDITOR: frozenset({Action.SEARCH, Action.AUDIT, Action.READ_REPORTS, Action.READ_LOGS,
                             Action.READ_REGISTER, Action.EXPORT_REGISTER, Action.READ_SECURITY_LOG}),
    Role.RESEARCHER: frozenset({Action.SEARCH, Action.VIEW_RECORD, Action.DOWNLOAD}),
}


class View(StrEnum):
    """How much of an archive in scope a principal sees."""

    FULL = "full"  # the whole record, personal data shown
    MASKED = "masked"  # the whole record, personal data masked (repository.privacy.mask_record)
    ENTRY = "entry"  # the catalogue entry only (title, reference code, dates, paper references), masked


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account's name, role and division scope."""

    username: str
    role: Role
    division: str


def scope_prefix(division: str) -> str | None:
    """The code prefix every division under ``division`` starts with (``""`` for :data:`NATIONAL`);
    ``None`` when ``division`` is not a well-formed GB/T 2260 code."""
    if division == NATIONAL:
        return ""
    level = level_of(division)
    if level == "province":
        return division[:2]
    if level == "city":
        return division[:4]
    if level in ("district", "street"):
        return division
    return None


def valid_scope(division: str) -> bool:
    """A code a principal's scope may be: well-formed GB/T 2260 (6 or 9 digits) or :data:`NATIONAL`."""
    return scope_prefix(division) is not None


def may_see(principal: Principal, archive_division: str) -> bool:
    """Whether the archive exists at all for ``principal`` (outside the scope: answer 404, never 403)."""
    prefix = scope_prefix(principal.division)
    if prefix is None or not isinstance(archive_division, str):
        return False
    return archive_division.startswith(prefix) and (prefix == "" or level_of(archive_division) is not None)


def division_in_scope(principal: Principal, division: str) -> bool:
    """Whether ``division`` (a filter a page or the API was given) is a division code within ``principal``'s
    scope: one outside it, or not a code at all, names nothing for them."""
    return valid_scope(division) and may_see(principal, division)


def national(principal: Principal) -> bool:
    """Whether ``principal``'s scope is the whole country: it sees every division, and counts of the whole
    repository (a log's size, the repository's totals) are shown to it alone."""
    return principal.division == NATIONAL


def scope_prefixes(principal: Principal) -> list[str]:
    """Division-code prefixes for catalogue, search and statistics filters (``Catalog.list_archives``'s
    ``division_prefixes``): ``[""]`` for the national scope, ``[]`` (nothing) for a malformed one."""
    prefix = scope_prefix(principal.division)
    return [] if prefix is None else [prefix]


def scope_division(principal: Principal) -> str | None:
    """The division code to give a search as its scope (``SearchRequest.division``); ``None`` for national."""
    return None if national(principal) else principal.division


def covering_scope(divisions: Iterable[str]) -> str:
    """The narrowest scope that sees every division of ``divisions`` (as :func:`may_see` sees them): the code
    itself when all are one, else the nearest division above them all; :data:`NATIONAL` when they lie in
    several provinces, when there are none, or when one is not a well-formed code (fail closed: the narrower
    scopes are then not told of them)."""
    codes = sorted(set(divisions))
    if not codes or any(not isinstance(c, str) or level_of(c) is None for c in codes):
        return NATIONAL
    candidate: str | None = codes[0]
    while candidate is not None:
        prefix = scope_prefix(candidate)
        if prefix is not None and all(c.startswith(prefix) for c in codes):
            return candidate
        candidate = shape_parent(candidate)
    return NATIONAL


def naming_scope(divisions: Iterable[str | None]) -> str:
    """The narrowest scope that may be shown a value naming archives of ``divisions`` (None: a value naming no
    archive the catalogue holds): :func:`covering_scope` of them; :data:`NATIONAL` when one names none, as for
    a link (:func:`link_shown`): were a value naming nothing shown where one naming another division's archive
    is withheld, the withholding would confirm that the other archive exists."""
    codes = list(divisions)
    if not codes or any(d is None for d in codes):
        return NATIONAL
    return covering_scope(d for d in codes if d is not None)


def scope_sees(prefixes: Sequence[str], scope: str) -> bool:
    """Whether a reader of the scope ``prefixes`` (:func:`scope_prefixes`) may be shown what ``scope`` (a
    division code or :data:`NATIONAL`, e.g. :func:`naming_scope`) may be shown: ``scope`` lies within theirs."""
    prefix = scope_prefix(scope)
    return prefix is not None and any(prefix.startswith(p) for p in prefixes)


def may(principal: Principal, action: Action) -> bool:
    """Whether the role may do ``action`` at all (the archive's scope and access status are asked apart)."""
    return action in _PERMISSIONS.get(principal.role, frozenset())


def may_ingest_into(principal: Principal, archive_division: str) -> bool:
    """Whether ``principal`` may ingest a SIP whose archive lies in ``archive_division``: ingest rights and
    the division inside the scope (an archivist is refused a SIP they could not see once ingested)."""
    return may(principal, Action.INGEST) and may_see(principal, archive_division)


def may_read_report(principal: Principal, report_scope: Callable[[], str | None]) -> bool:
    """Whether an audit report is for ``principal``, listed and downloaded alike. The national scope reads
    every report (``report_scope`` is not asked: nothing need be read); below it only the report of a run
    confined to a division within the scope: ``report_scope()`` is the division the run recorded (an audit of
    archives named, within the narrowest division covering them all), :data:`NATIONAL` for a run over the
    whole store (``--due``, ``--all``, a sample: its run-level issues count and name archives of every
    division), None for a report that records none (written before runs recorded it): national only."""
    if not may(principal, Action.READ_REPORTS) or not valid_scope(principal.division):
        return False
    if principal.division == NATIONAL:
        return True
    scope = report_scope()
    return scope is not None and scope != NATIONAL and division_in_scope(principal, scope)


def sees_personal_data(principal: Principal) -> bool:
    """Resident IDs, names, phones and incomes unmasked: administrators and archivists only."""
    return principal.role in (Role.ADMIN, Role.ARCHIVIST)


def receives_originals(principal: Principal) -> bool:
    """Whether documents reach ``principal`` as stored; everyone else who may open them (researchers) receives
    researchers' copies (利用件, :mod:`repository.dip.research`): personal data painted over, scans as their
    masked OCR text until an archivist has approved their copy (:mod:`repository.dip.scans`)."""
    return sees_personal_data(principal)


def view_of(principal: Principal, access_status: str) -> View:
    """How much of an archive in scope ``principal`` sees; ``access_status`` is ``open`` or ``restricted``."""
    if sees_personal_data(principal):
        return View.FULL
    if principal.role == Role.RESEARCHER and access_status == Access.OPEN:
        return View.MASKED
    return View.ENTRY


def may_open_documents(principal: Principal, access_status: str) -> bool:
    """Whether ``principal`` may view or download the documents of an archive in scope."""
    if not may(principal, Action.DOWNLOAD):
        return False
    return sees_personal_data(principal) or access_status == Access.OPEN


def must_register(view: View, documents: bool) -> bool:
    """Whether a use goes into the access register (利用登记): opening a document, or an unmasked record."""
    return documents or view == View.FULL


# ------------------------------------------------------------------ linked archives (房户对接) across the scope


class Link(StrEnum):
    """How a household-unit link (房户对接) of an archive in scope is shown, by where the other archive lies."""

    NAMED = "named"  # the other archive is in scope (or the scope is national): its id and title are shown
    UNNAMED = "unnamed"  # this archive's own link to one outside the scope: its type and period, never the other
    HIDDEN = "hidden"  # another archive's link to this one, from outside the scope: its facts, so not shown at all


def link_shown(principal: Principal, direction: str, other_division: str | None) -> Link:
    """How ``principal`` sees a link of an archive in scope: ``direction`` ``out`` (the archive's own
    description names the other) or ``in`` (the other's description names this one); ``other_division`` is
    None when the other archive is not catalogued (not yet ingested, or disposed of), which only the national
    scope may be told of (its id may name any division)."""
    seen = national(principal) if other_division is None else may_see(principal, other_division)
    if seen:
        return Link.NAMED
    return Link.UNNAMED if direction == "out" else Link.HIDDEN


def linked_in_scope(principal: Principal, record: dict[str, Any], divisions: Mapping[str, str]) -> dict[str, Any]:
    """``record`` (an archive's plain view: ``ArchiveView.to_dict()``, what the archive page and the API show,
    an access copy's ``description.json``) with its links as :func:`link_shown` says ``principal`` sees them;
    ``divisions``: the division of each catalogued linked archive. Each link gets ``visible`` (there is a page
    of the other archive to link to). An :attr:`Link.UNNAMED` link keeps its direction, type and period (this
    archive's own facts) with ``other`` and ``other_title`` None; a :attr:`Link.HIDDEN` one is left out; the
    description's own ``relations`` keep the ``target`` of named links only. ``record`` is not changed."""
    def shown(direction: str, other: object) -> Link:
        return link_shown(principal, direction, divisions.get(other) if isinstance(other, str) else None)

    relations = []
    for r in record.get("relations") or ():
        link = shown(r.get("direction", ""), r.get("other"))
        if link is Link.NAMED:
            relations.append({**r, "visible": r.get("other") in divisions})
        elif link is Link.UNNAMED:
            relations.append({**r, "other": None, "other_title": None, "visible": False})
    out = {**record, "relations": relations}
    description = record.get("description")
    if isinstance(description, dict) and description.get("relations"):
        out["description"] = {**description, "relations": [
            r if shown("out", r.get("target")) is Link.NAMED else {**r, "target": None}
            for r in description["relations"]]}
    return out
