"""Accounts and the access register (利用登记) for the administration pages, over
:mod:`repository.accounts` and the state database (``state.url``).

:class:`StateDirectory` lets the accounts of the state database sign in next to the interim directory of
:mod:`.users` (``HSAR_USERS``), so an account an administrator adds can log in at once and a disabled one
cannot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from ...accounts import register, users
from ...config import Config
from ...divisions import tree_for
from ...state.db import State, open_state
from .users import Account, Directory

REGISTER_PAGE = 50


@contextmanager
def _state(cfg: Config) -> Iterator[State]:
    state = open_state(cfg.state_url)
    try:
        yield state
    finally:
        state.close()


class StateDirectory(Directory):
    """The interim directory first, then the active accounts of the state database."""

    def __init__(self, inner: Directory, cfg: Config) -> None:
        super().__init__()
        self.inner, self.cfg = inner, cfg

    def get(self, username: str) -> Account | None:
        found = self.inner.get(username)
        if found is not None:
            return found
        with _state(self.cfg) as state:
            user = users.get_user(state, username)
        return Account(user.principal, user.lang) if user is not None and user.active else None

    def authenticate(self, username: str, password: str) -> Account | None:
        found = self.inner.authenticate(username, password)
        if found is not None or self.inner.get(username) is not None:
            return found
        with _state(self.cfg) as state:
            user = users.authenticate(state, username, password)
        return Account(user.principal, user.lang) if user is not None else None

    def set_lang(self, username: str, lang: str) -> None:
        self.inner.set_lang(username, lang)


def list_users(cfg: Config) -> list[users.User]:
    with _state(cfg) as state:
        return users.list_users(state)


def add_user(cfg: Config, username: str, role: str, division: str, password: str,
             display_name: str | None = None) -> users.User:
    """Raises :class:`~repository.errors.AccountError` (a message key) for bad input."""
    with _state(cfg) as state:
        return users.add_user(state, username, role, division, password=password,
                              display_name=display_name or None, tree=tree_for(cfg))


def disable_user(cfg: Config, username: str) -> users.User:
    with _state(cfg) as state:
        return users.disable_user(state, username)


def set_password(cfg: Config, username: str, password: str) -> users.User:
    with _state(cfg) as state:
        return users.set_password(state, username, password)


@dataclass(frozen=True)
class RegisterFilter:
    username: str | None = None
    archive_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class RegisterPage:
    entries: list[register.RegisterEntry]
    page: int
    has_next: bool
    verification: register.RegisterVerification


def register_page(cfg: Config, where: RegisterFilter, page: int) -> RegisterPage:
    """One page of matching entries (oldest first) and the verification of the whole chain."""
    with _state(cfg) as state:
        found = register.list_uses(state, username=where.username, archive_id=where.archive_id,
                                   action=where.action, since=where.since, until=where.until,
                                   limit=REGISTER_PAGE + 1, offset=(page - 1) * REGISTER_PAGE)
        verification = register.verify_register(state)
    return RegisterPage(found[:REGISTER_PAGE], page, len(found) > REGISTER_PAGE, verification)


def register_csv(cfg: Config, where: RegisterFilter) -> str:
    """Every matching entry as CSV (accounts.register.export_csv)."""
    with _state(cfg) as state:
        return register.export_csv(register.list_uses(state, username=where.username, archive_id=where.archive_id,
                                                      action=where.action, since=where.since, until=where.until))


USES = tuple(u.value for u in register.Use)
