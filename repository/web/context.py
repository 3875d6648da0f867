"""What a request works with: the home's Repository (one per application, shared by its requests), the
signed-in user (Flask-Login: an active account of the state database, looked up again unless its row stood
still since, so a disabled account's session ends at its next request) and the home's configuration."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_login import LoginManager, UserMixin, current_user

from ..accounts.securitylog import Actor
from ..accounts.users import User as Account
from ..config import Config
from ..home import Repository
from . import shared
from .gateway import accounts
from .gateway.access import Principal


class User(UserMixin):
    """The Flask-Login user: an account of the state database."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        return self.account.username

    @property
    def principal(self) -> Principal:
        return self.account.principal

    @property
    def lang(self) -> str:
        return self.account.lang


def config() -> Config:
    return current_app.extensions["hsar.config"]


def repo() -> Repository:
    """The application's shared Repository (:mod:`.shared`): opened once, used by every request."""
    return shared.of(current_app).repository()


def home() -> str:
    return current_app.config["HSAR_HOME"]


def principal() -> Principal:
    return current_user.principal


def actor() -> Actor:
    """The signed-in account as the security log names who acted: its name, role and the client's address
    (the proxy's client with ``hsar serve --proxy``)."""
    found = principal()
    return Actor(found.username, found.role.value, request.remote_addr or "")


def _load(username: str) -> User | None:
    """The signed-in account, remembered while its row of the state database is unchanged
    (:mod:`.sessionusers`: a disable, a role or password change, by any process, is seen at the next request;
    the register lines pages write do not make it looked up again)."""
    cfg = config()

    def verify() -> Account | None:
        return accounts.active_user(cfg, username)

    account = shared.session_users(shared.state_url(cfg)).account(username, verify)
    return User(account) if account else None


def install(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = None  # the login page says why itself
    manager.user_loader(_load)
    shared.install(app)
