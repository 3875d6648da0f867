"""Exception hierarchy: one root, one base per subpackage.

Exceptions mean "could not evaluate" (a missing file we were told to read, a broken configuration).
Bad *input* is never an exception: validators return :class:`repository.codes.Issue` values instead.
"""

from __future__ import annotations


class HsarError(Exception):
    """Root of every error hsar raises on purpose. ``code`` is stable, ``str()`` is for people."""

    code = "HSAR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


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

    def __init__(self, message: str, issues: list | None = None) -> None:
        super().__init__(message)
        self.issues = list(issues or [])


class PreservationError(HsarError):
    code = "PRESERVATION"


class SigningError(PreservationError):
    code = "SIGNING"


class CatalogError(HsarError):
    code = "CATALOG"


class SearchError(HsarError):
    code = "SEARCH"


class SearchRequestError(SearchError, UsageError):
    """A search request that cannot be served as asked (unknown facet or sort, page out of range): exit 2."""

    code = "SEARCH"


class QuerySyntaxError(SearchRequestError):
    code = "QUERY"
