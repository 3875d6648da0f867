"""The catalogue's schema version checked on opening, alike for the SQLAlchemy catalogue
(:attr:`repository.home.Repository.catalog`) and the audit's plain ``sqlite3`` one (:mod:`.audits_sqlite`)."""

from __future__ import annotations

from typing import Protocol, TypeVar

from ..errors import CatalogError


class _Versioned(Protocol):
    def schema_version(self) -> int | None: ...
    def close(self) -> None: ...


C = TypeVar("C", bound=_Versioned)


def checked(catalog: C, missing: CatalogError, expected: int) -> C:
    """``catalog`` when its schema is version ``expected``; else closed, and ``missing`` raised when it has no
    schema table (``hsar init``), a CatalogError naming both versions when it has another."""
    try:
        found = catalog.schema_version()
    except CatalogError as exc:
        catalog.close()
        if "no such table" in str(exc) or "UndefinedTable" in str(exc):
            raise missing from None
        raise
    if found != expected:
        catalog.close()
        if found is None:
            raise missing
        raise CatalogError(f"catalogue schema version {found}, this hsar needs {expected}")
    return catalog
