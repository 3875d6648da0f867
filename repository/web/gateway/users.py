"""Accounts as the web application sees them: sign-in, the signed-in user, the access register (利用登记).

Interim adapter until the accounts branch (``repository.accounts``, ``repository.state``) is merged: users
come from the application's ``HSAR_USERS`` setting (username -> password hash (argon2), role, division,
language) and access-register lines go to ``access-register.jsonl`` in the home. On merge, this module
calls the accounts API instead and the views do not change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .access import NATIONAL, Principal, Role

_HASHER = PasswordHasher()
# verified when the username is unknown, so a wrong name costs as long as a wrong password
_DUMMY = _HASHER.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


@dataclass(frozen=True)
class Account:
    principal: Principal
    lang: str = "zh"

    @property
    def username(self) -> str:
        return self.principal.username


class Directory:
    """The users of this application (interim: from a mapping)."""

    def __init__(self, users: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._users = {name: dict(u) for name, u in (users or {}).items()}

    def get(self, username: str) -> Account | None:
        entry = self._users.get(username)
        if entry is None:
            return None
        role = Role(entry.get("role", Role.RESEARCHER))
        return Account(Principal(username, role, entry.get("division") or NATIONAL), entry.get("lang", "zh"))

    def authenticate(self, username: str, password: str) -> Account | None:
        entry = self._users.get(username)
        try:
            _HASHER.verify(entry["password"] if entry else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        return self.get(username) if entry else None

    def set_lang(self, username: str, lang: str) -> None:
        if username in self._users:
            self._users[username]["lang"] = lang


def record_access(home: Path | str, principal: Principal, archive_id: str, path: str, action: str) -> None:
    """One access-register line: who opened which document of which archive, how, when (UTC)."""
    line = {"time": datetime.now(UTC).isoformat(), "user": principal.username, "role": principal.role.value,
            "archive": archive_id, "path": path, "action": action}
    with open(Path(home) / "access-register.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def access_lines(home: Path) -> list[dict[str, Any]]:
    """Every access-register line so far (for tests and the users page)."""
    path = Path(home) / "access-register.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
