"""Who may see what: the interim access decision, shaped like ``repository.access`` (accounts branch).

Until the accounts branch is merged this module holds the same names and answers: ``Role``, ``Principal``,
``may_see``, ``sees_personal_data``, ``may_open_documents``. On merge it becomes
``from repository.access import ...`` and nothing else in the web package changes.

Rules (住房保障档案管理办法: 统一领导、分级管理; 个人隐私):
- every principal has a division scope and sees its subtree only (an admin with no division sees all);
- researchers (利用者) see personal data masked and ``restricted`` archives as catalogue entries only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ARCHIVIST = "archivist"
    AUDITOR = "auditor"
    RESEARCHER = "researcher"


@dataclass(frozen=True)
class Principal:
    """A signed-in person as the access rules see them; ``division`` None means the whole repository."""

    username: str
    role: Role
    division: str | None


def _prefix(code: str) -> str:
    """The part of a GB/T 2260 code its subtree shares: 320000 -> 32, 320100 -> 3201, 320102 -> 320102."""
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def scope_prefixes(principal: Principal) -> list[str] | None:
    """Division-code prefixes the principal sees; None for everything."""
    return None if principal.division is None else [_prefix(principal.division)]


def may_see(principal: Principal, archive_division: str) -> bool:
    """Whether ``archive_division`` lies in the principal's subtree."""
    prefixes = scope_prefixes(principal)
    return prefixes is None or any(archive_division.startswith(p) for p in prefixes)


def sees_personal_data(principal: Principal) -> bool:
    return principal.role is not Role.RESEARCHER


def may_open_documents(principal: Principal, access_status: str) -> bool:
    """Researchers open documents of ``open`` archives only; ``restricted`` ones stay catalogue entries."""
    return principal.role is not Role.RESEARCHER or access_status == "open"
