"""Accounts and the access register (利用登记) for the web application, over :mod:`repository.accounts` and
the state database (``state.url``), the one source of users: sign-in, the signed-in user of every request
(a disabled account's session ends at its next request), the user's language, the administration pages,
and every register line a page or the API writes (:func:`record_use`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from ...accounts import lockout, register, securitylog, users
from ...accounts.chain import Verification
from ...accounts.securitylog import Actor
from ...config import Config
from ...divisions import tree_for
from ...home import Repository
from ...jobs.lockalert import submit_lock_alert
from ...services.uses import UseFilter as RegisterFilter
from ...services.uses import uses_in_scope
from ...state.db import State
from .. import shared
from .access import Principal, national, scope_prefixes

REGISTER_PAGE = 50
_log = logging.getLogger(__name__)
E = TypeVar("E")


@contextmanager
def _state(cfg: Config) -> Iterator[State]:
    """The state database, shared by the application's requests (one engine and pool, not one per call)."""
    yield shared.state(shared.state_url(cfg))


def active_user(cfg: Config, username: str) -> users.User | None:
    """The account signed in as ``username`` if it still exists and is active, else None."""
    with _state(cfg) as state:
        user = users.get_user(state, username)
    return user if user is not None and user.active else None


def sign_in(cfg: Config, username: str, password: str, address: str) -> users.SignIn:
    """The active account whose password this is, behind the sign-in lockout (``web.login_failures`` failures
    within ``web.login_lock_minutes`` minutes lock the name): :func:`repository.accounts.users.sign_in`, which
    writes the security log with the client's ``address``. The attempt that locks the name queues its alert
    (:func:`repository.jobs.lockalert.submit_lock_alert`; ``hsar worker`` sends it), and a queue that cannot
    take it is logged, never the sign-in's failure."""
    with _state(cfg) as state:
        tried = users.sign_in(state, username, password, failures=cfg["web.login_failures"],
                              minutes=cfg["web.login_lock_minutes"], address=address)
    if tried.locked_now and tried.locked_until is not None:
        try:
            submit_lock_alert(cfg, username, tried.failures, tried.locked_until, address)
        except Exception:  # noqa: BLE001 - the queue's storage unusable: the lock stands and is in the security log
            _log.exception("the alert of the lock on %r could not be queued", username)
    return tried


def sign_out(cfg: Config, account: users.User, address: str) -> None:
    with _state(cfg) as state:
        users.sign_out(state, account, address)


def unlock(cfg: Config, username: str, by: Actor) -> bool:
    """Lift the sign-in lock on ``username`` (and forget its failures); whether there was one."""
    with _state(cfg) as state:
        return users.unlock(state, username, by=by)


def locks(cfg: Config) -> dict[str, datetime]:
    """The account names locked now, each with the end of its lock."""
    with _state(cfg) as state:
        return lockout.locks(state)


def set_lang(cfg: Config, username: str, lang: str) -> users.User:
    """Store the account's language (``zh``/``en``), so it sticks across sessions."""
    with _state(cfg) as state:
        return users.set_lang(state, username, lang)


def record_use(cfg: Config, principal: Principal, action: str, archive_id: str, *, item: str | None = None,
               masked: bool = False, purpose: str) -> register.RegisterEntry:
    """One access-register entry (hash-chained, in the state database)."""
    with _state(cfg) as state:
        return register.record_use(state, principal, action, archive_id, purpose, item=item, masked=masked)


def list_users(cfg: Config) -> list[users.User]:
    with _state(cfg) as state:
        return users.list_users(state)


def add_user(cfg: Config, username: str, role: str, division: str, password: str,
             display_name: str | None, by: Actor) -> users.User:
    """Raises :class:`~repository.errors.AccountError` (a message key) for bad input. Each change of this
    page is written to the security log as made ``by`` the signed-in administrator."""
    with _state(cfg) as state:
        return users.add_user(state, username, role, division, password=password,
                              display_name=display_name or None, tree=tree_for(cfg), by=by)


def disable_user(cfg: Config, username: str, by: Actor) -> users.User:
    with _state(cfg) as state:
        return users.disable_user(state, username, by=by)


def enable_user(cfg: Config, username: str, by: Actor) -> users.User:
    with _state(cfg) as state:
        return users.enable_user(state, username, by=by)


def set_scope(cfg: Config, username: str, role: str, division: str, by: Actor) -> users.User:
    """The account's role and division scope (ACC-LAST-ADMIN: the last active administrator keeps its role)."""
    with _state(cfg) as state:
        return users.set_scope(state, username, role=role, division=division, tree=tree_for(cfg), by=by)


def set_password(cfg: Config, username: str, password: str, by: Actor) -> users.User:
    with _state(cfg) as state:
        return users.set_password(state, username, password, by=by)


@dataclass(frozen=True)
class ChainPage(Generic[E]):
    """One page of a chained log (the register, the security log) and the verification of its whole chain."""

    entries: list[E]
    page: int
    has_next: bool
    verification: Verification
    national: bool  # False: the reader is below the national scope, and is shown no count of the whole chain

    @classmethod
    def cut(cls, found: list[E], page: int, verification: Verification, reader: Principal) -> ChainPage[E]:
        """``found`` read with one entry more than a page: the page, and whether another follows."""
        return cls(found[:REGISTER_PAGE], page, len(found) > REGISTER_PAGE, verification,
                   national(reader))


RegisterPage = ChainPage[register.RegisterEntry]
SecurityPage = ChainPage[securitylog.SecurityEntry]


#: seconds between whole passes over a chain for its page (in between, only new entries)
REGISTER_FULL_EVERY = 600.0
#: the chains shown on pages, each verified whole or after a head checked before
_CHAINS = {"register": (register.verify_register, register.verify_register_after),
           "security": (securitylog.verify_log, securitylog.verify_log_after)}
#: per process, state database and chain: the newest verification and when its last whole pass began
_VERIFIED: dict[tuple[str, str], tuple[Verification, float]] = {}


def _verified(cfg: Config, state: State, chain: str = "register") -> Verification:
    """The chain's verification for its page: the whole chain at most every :data:`REGISTER_FULL_EVERY`
    seconds, else only the entries appended since the last look (each page view appends one register entry,
    and checking every entry again cost ~80 µs each: 1.6 s at 20,000 entries)."""
    key = (cfg.state_url, chain)
    whole, after = _CHAINS[chain]
    earlier, whole_at = _VERIFIED.get(key, (None, 0.0))
    now = time.monotonic()
    if earlier is None or now - whole_at >= REGISTER_FULL_EVERY:
        found, whole_at = whole(state), now
    else:
        found = after(state, earlier)
    _VERIFIED[key] = (found, whole_at)
    return found


def warm_register(cfg: Config) -> None:
    """Verify both chains whole now (:func:`_verified`), so the first look at the register or the security
    log after ``hsar serve`` starts does not pay for it (~2 s at 20,000 entries)."""
    with _state(cfg) as state:
        for chain in _CHAINS:
            _verified(cfg, state, chain)


def register_page(repo: Repository, principal: Principal, where: RegisterFilter, page: int) -> RegisterPage:
    """One page of the matching entries ``principal`` may see (oldest first; :func:`uses_in_scope`) and the
    verification of the whole chain (:func:`_verified`)."""
    with _state(repo.cfg) as state:
        found = uses_in_scope(state, repo.catalog, principal, where, limit=REGISTER_PAGE + 1,
                              offset=(page - 1) * REGISTER_PAGE)
        verification = _verified(repo.cfg, state)
    return ChainPage.cut(found, page, verification, principal)


def register_csv(repo: Repository, principal: Principal, where: RegisterFilter) -> str:
    """Every matching entry ``principal`` may see, as CSV (accounts.register.export_csv)."""
    with _state(repo.cfg) as state:
        return register.export_csv(uses_in_scope(state, repo.catalog, principal, where))


USES = tuple(u.value for u in register.Use)


@dataclass(frozen=True)
class SecurityFilter:
    username: str | None = None  # an account that acted or was acted on
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _events(state: State, principal: Principal, where: SecurityFilter, limit: int | None = None,
            offset: int = 0) -> list[securitylog.SecurityEntry]:
    return securitylog.list_events(state, prefixes=scope_prefixes(principal), username=where.username,
                                   event=where.event, since=where.since, until=where.until, limit=limit,
                                   offset=offset)


def security_page(cfg: Config, principal: Principal, where: SecurityFilter, page: int) -> SecurityPage:
    """One page of the security log's entries about accounts in ``principal``'s scope (oldest first) and the
    verification of the whole chain."""
    with _state(cfg) as state:
        found = _events(state, principal, where, REGISTER_PAGE + 1, (page - 1) * REGISTER_PAGE)
        verification = _verified(cfg, state, "security")
    return ChainPage.cut(found, page, verification, principal)


def security_csv(cfg: Config, principal: Principal, where: SecurityFilter) -> str:
    with _state(cfg) as state:
        return securitylog.export_csv(_events(state, principal, where))


EVENTS = tuple(e.value for e in securitylog.Event)
shown_detail = securitylog.shown_detail
