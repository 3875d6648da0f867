"""Exception hierarchy: one root, one base per subpackage.

Exceptions mean "could not evaluate" (a missing file we were told to read, a broken configuration).
Bad *input* is never an exception: validators return :class:`repository.codes.Issue` values instead.
"""

from __future__ import annotations

from . import messages


class HsarError(Exception):
    """Root of every error hsar raises on purpose. ``code`` is stable; :meth:`render` is for people.

    Raise with a message key of :mod:`repository.messages` and its parameters,
    ``HsarError(msgid="store.missing", root=path)``, and the edge renders it in the user's language;
    ``str()`` is the English text. (A plain ``message`` is the older form: shown as it is in every language.)
    """

    code = "HSAR"

    def __init__(self, message: str = "", code: str | None = None, *, msgid: str | None = None,
                 **params: object) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(messages.text(msgid, "en", **params) if msgid else message)
        if code is not None:
            self.code = code

    def as_text(self) -> messages.Text | str:
        """The message not yet rendered (a :class:`~repository.messages.Text`), to pass on as a parameter of
        another message; the plain text of an error raised the older way."""
        return messages.Text.of(self.msgid, **self.params) if self.msgid else str(self)

    def render(self, lang: str | None = messages.DEFAULT_LANG) -> str:
        """The message in ``lang`` (zh or en)."""
        return messages.text(self.msgid, lang, **self.params) if self.msgid else str(self)


#: Codes of errors that say "the home is busy, try again later" (another ingest, audit or disposal holds its
#: lock): not a failure of the input; the CLI exits with EX_TEMPFAIL (75) and the job queue retries.
BUSY_CODES = frozenset({"ING-BUSY", "AUDIT-BUSY", "DSP-BUSY"})


class ConfigError(HsarError):
    code = "CONFIG"


class UsageError(HsarError):
    """The caller gave arguments that cannot be used (CLI exit code 2)."""

    code = "USAGE"


class IngestError(HsarError):
    code = "INGEST"


class UnsafePackageError(IngestError):
    """A package was refused before anything was written; ``issues`` says why."""

    code = "PKG"

    def __init__(self, message: str = "", issues: list | None = None, *, msgid: str | None = None,
                 **params: object) -> None:
        super().__init__(message, None, msgid=msgid, **params)
        self.issues = list(issues or [])


class PreservationError(HsarError):
    code = "PRESERVATION"


class SigningError(PreservationError):
    code = "SIGNING"


class LimitExceeded(HsarError):
    """A stream produced more bytes than the caller allowed; nothing past ``limit`` was written (raised by
    :func:`repository.hashcore.feed`; defined here so that hash worker processes need not import this module)."""

    code = "FIXITY-LIMIT"

    def __init__(self, limit: int, size: int) -> None:
        super().__init__(f"stream exceeds {limit} bytes (read {size})")
        self.limit = limit
        self.size = size


class CatalogError(HsarError):
    code = "CATALOG"


class StateError(HsarError):
    """The state database (accounts, tokens, jobs, the access register) cannot be opened or used."""

    code = "STATE"


class AccountError(HsarError):
    """An account operation was refused: a bad username or division, an unknown user, a wrong password."""

    code = "ACCOUNT"


class PaperError(HsarError):
    """The paper register (纸质档案登记) could not be imported or reconciled; ``issues`` lists every bad row."""

    code = "PAPER"

    def __init__(self, message: str = "", code: str | None = None, *, msgid: str | None = None,
                 issues: list | None = None, **params: object) -> None:
        super().__init__(message, code, msgid=msgid, **params)
        self.issues = list(issues or [])


class AccessCopyError(HsarError):
    """An access copy (利用副本, DIP) could not be made as asked."""

    code = "ACCESS-COPY"


class SearchError(HsarError):
    code = "SEARCH"


class SearchRequestError(SearchError, UsageError):
    """A search request that cannot be served as asked (unknown facet or sort, page out of range): exit 2."""

    code = "SEARCH"


class QuerySyntaxError(SearchRequestError):
    code = "QUERY"


class DisposalError(HsarError):
    """A disposal (销毁) step refused: not due, the same person approving, no such proposal, a copy unusable."""


class EnvironmentFault(HsarError):
    """The machine, not the input or hsar, stopped the operation: a full disk (``ENV-NOSPACE``) or a home on a
    read-only file system (``ENV-READONLY``). The edge shows it as a bad-input error (exit 1), naming the cause."""

    code = "ENV"


_SQLITE_FAULTS = (("database or disk is full", "ENV-NOSPACE"), ("readonly database", "ENV-READONLY"),
                  ("read-only file system", "ENV-READONLY"))


def environment_fault(exc: BaseException, home: object = None) -> EnvironmentFault | None:
    """The :class:`EnvironmentFault` behind ``exc`` (itself, its causes and contexts, a database driver's
    original error), or None when no full disk or read-only file system is among them. With ``home`` (a path),
    any failure while the home is on a read-only file system is that (SQLite says only "unable to open
    database file" when it cannot make its WAL index there)."""
    import errno
    import os

    if home is not None and not isinstance(exc, EnvironmentFault):
        try:
            read_only = bool(os.statvfs(str(home)).f_flag & os.ST_RDONLY)
        except (OSError, TypeError):
            read_only = False
        if read_only:
            return _fault("ENV-READONLY", f"{home}: {exc}")

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, EnvironmentFault):
            return item
        if isinstance(item, OSError) and item.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            code = "ENV-READONLY" if item.errno == errno.EROFS else "ENV-NOSPACE"
            return _fault(code, f"{item.strerror or item}" + (f": {item.filename}" if item.filename else ""))
        text = str(item).lower()
        for needle, code in _SQLITE_FAULTS:
            if needle in text and type(item).__name__ in {"OperationalError", "DatabaseError"}:
                return _fault(code, str(item).splitlines()[0])
        todo += [item.__cause__, item.__context__, getattr(item, "orig", None)]
    return None


def _fault(code: str, detail: str) -> EnvironmentFault:
    key = "faults.read_only" if code == "ENV-READONLY" else "faults.no_space"
    return EnvironmentFault(code=code, msgid=key, detail=detail)
