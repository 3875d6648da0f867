"""``hsar user``: accounts from the shell (add, list, disable, enable, unlock, set, passwd, token), the access
register's chain (verify-register) and the security log (log, verify-log); the first administrator is made here.
Each change is written to the security log as made by the shell's login on this host.

Passwords come from a hidden prompt with confirmation, or one line of standard input (``--password-stdin``,
for scripts). A token is printed once and never again (only its hash is kept). Texts come from the message
catalogue in the ``--lang`` language.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import click

from .. import messages
from ..access import Role
from ..accounts.securitylog import Actor, Event
from ..errors import AccountError, HsarError
from .base import Context, cli, emit_json, emit_result, json_option, pass_ctx

if TYPE_CHECKING:
    from ..accounts.chain import Verification
    from ..state.db import State


@contextmanager
def _state(c: Context) -> Iterator[State]:
    """The home's state database; hsar errors shown in the ``--lang`` language."""
    from ..state.db import open_state

    try:
        with open_state(c.cfg.state_url) as state:
            yield state
    except HsarError as exc:
        if exc.msgid:
            exc.args = (exc.render(c.lang),)
        raise


def _password(c: Context, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = click.prompt(messages.text("user.prompt_password", c.lang), hide_input=True)
    again = click.prompt(messages.text("user.prompt_repeat", c.lang), hide_input=True)
    if first != again:
        raise AccountError(messages.text("accounts.password_mismatch", c.lang), code="ACC-PASSWORD")
    return first


@cli.group("user")
def user() -> None:
    """用户账户 Accounts: roles, division scope, passwords, tokens."""


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="角色 Role.")
@click.option("--division", required=True, help="管辖区划（GB/T 2260；全国为 000000） Division scope.")
@click.option("--name", "display_name", help="姓名 Display name.")
@click.option("--lang", "user_lang", type=click.Choice(messages.LANGS), default="zh", show_default=True,
              help="界面语言 Interface language of the user.")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 Read the password from stdin.")
@json_option()
@pass_ctx
def add_cmd(c: Context, username: str, role: str, division: str, display_name: str | None, user_lang: str,
            password_stdin: bool, as_json: bool) -> None:
    """新建用户 Add a user (password from a prompt, or --password-stdin)."""
    from ..accounts.users import add_user, check_division, check_username
    from ..divisions import tree_for

    with _state(c) as state:
        tree = tree_for(c.cfg)
        check_username(username)
        check_division(division, tree)  # before asking for a password
        password = _password(c, password_stdin)
        made = add_user(state, username, role, division, display_name=display_name, password=password,
                        lang=user_lang, tree=tree, by=Actor.shell())
    if as_json:
        emit_result("user-add", {"username": made.username, "role": made.role.value, "division": made.division,
                                 "display_name": made.display_name, "lang": made.lang})
        return
    click.echo(messages.text("user.added", c.lang, username=made.username,
                             role=messages.label("role", made.role, c.lang), division=made.division))


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 Print JSON.")
@pass_ctx
def list_cmd(c: Context, as_json: bool) -> None:
    """列出用户 List users."""
    from ..accounts.lockout import locks
    from ..accounts.users import list_users

    with _state(c) as state:
        users = list_users(state)
        locked = locks(state)
    if as_json:
        emit_json([{"username": u.username, "display_name": u.display_name, "role": u.role.value,
                    "division": u.division, "active": u.active, "lang": u.lang, "created": u.created.isoformat(),
                    "updated": u.updated.isoformat(),
                    "locked_until": locked[u.username].isoformat() if u.username in locked else None}
                   for u in users])
        return
    if not users:
        click.echo(messages.text("user.none", c.lang))
    for u in users:
        status = messages.text("user.active" if u.active else "user.inactive", c.lang)
        if u.username in locked:
            status += "\t" + messages.text("user.locked_until", c.lang, until=messages.local_stamp(locked[u.username]))
        click.echo(f"{u.username}\t{u.display_name}\t{messages.label('role', u.role, c.lang)}\t{u.division}\t"
                   f"{status}")


def _said(c: Context, as_json: bool, command: str, result: dict[str, object], key: str) -> None:
    """What a one-account command did: its JSON result (``hsar/<command>/1``), or the message ``key``."""
    if as_json:
        emit_result(command, result)
        return
    click.echo(messages.text(key, c.lang, username=result["username"]))


@user.command("disable")
@click.argument("username")
@json_option()
@pass_ctx
def disable_cmd(c: Context, username: str, as_json: bool) -> None:
    """停用用户（其令牌同时失效） Disable a user and its tokens."""
    from ..accounts.users import disable_user

    with _state(c) as state:
        disable_user(state, username, by=Actor.shell())
    _said(c, as_json, "user-disable", {"username": username}, "user.disabled")


@user.command("enable")
@click.argument("username")
@json_option()
@pass_ctx
def enable_cmd(c: Context, username: str, as_json: bool) -> None:
    """重新启用已停用的用户 Enable a disabled user again."""
    from ..accounts.users import enable_user

    with _state(c) as state:
        enable_user(state, username, by=Actor.shell())
    _said(c, as_json, "user-enable", {"username": username}, "user.enabled")


@user.command("unlock")
@click.argument("username")
@json_option()
@pass_ctx
def unlock_cmd(c: Context, username: str, as_json: bool) -> None:
    """解除登录锁定 Lift the sign-in lock on a username (locked after web.login_failures failed sign-ins)."""
    from ..accounts.users import unlock

    with _state(c) as state:
        was = unlock(state, username, by=Actor.shell())
    _said(c, as_json, "user-unlock", {"username": username, "was_locked": was},
          "user.unlocked" if was else "user.not_locked")


@user.command("set")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), help="新角色 New role.")
@click.option("--division", help="新的管辖区划（GB/T 2260；全国为 000000） New division scope.")
@json_option()
@pass_ctx
def set_cmd(c: Context, username: str, role: str | None, division: str | None, as_json: bool) -> None:
    """更改用户的角色或管辖区划（下一次请求起生效） Change a user's role or division scope (from its next request).

    The last active administrator keeps its role (ACC-LAST-ADMIN)."""
    from ..accounts.users import set_scope
    from ..divisions import tree_for

    with _state(c) as state:
        changed = set_scope(state, username, role=role, division=division, tree=tree_for(c.cfg), by=Actor.shell())
    if as_json:
        emit_result("user-set", {"username": changed.username, "role": changed.role.value,
                                 "division": changed.division})
        return
    click.echo(messages.text("user.scope_set", c.lang, username=changed.username,
                             role=messages.label("role", changed.role, c.lang), division=changed.division))


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 Read the password from stdin.")
@json_option()
@pass_ctx
def passwd_cmd(c: Context, username: str, password_stdin: bool, as_json: bool) -> None:
    """更改密码 Set a user's password."""
    from ..accounts.users import get_user, set_password

    with _state(c) as state:
        if get_user(state, username) is None:
            raise AccountError(msgid="accounts.unknown_user", code="ACC-UNKNOWN", username=username)
        set_password(state, username, _password(c, password_stdin), by=Actor.shell())
    if as_json:
        emit_result("user-passwd", {"username": username})
        return
    click.echo(messages.text("user.password_set", c.lang, username=username))


@user.command("token")
@click.argument("username")
@click.option("--name", "token_name", default="default", show_default=True, help="令牌名称 Token name.")
@json_option("The token is in result.token (printed once).")
@pass_ctx
def token_cmd(c: Context, username: str, token_name: str, as_json: bool) -> None:
    """为机器访问生成令牌（只显示一次） Make a bearer token (printed once)."""
    from ..accounts.tokens import create_token

    with _state(c) as state:
        made, plaintext = create_token(state, username, token_name, by=Actor.shell())
    if as_json:
        emit_result("user-token", {"username": username, "name": made.name, "token": plaintext})
        return
    click.echo(messages.text("user.token_made", c.lang, username=username, name=made.name), err=True)
    click.echo(plaintext)


def _head(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not (seq.isascii() and seq.isdigit()) or len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise click.BadParameter(value, param_hint="--expect")
    return int(seq), digest


@user.command("verify-register")
@click.option("--expect", "expected", metavar="SEQ:HASH", callback=_head,
              help="先前记下的链头（须仍在链中） A head noted earlier, which must still be in the chain.")
@json_option()
@pass_ctx
def verify_register_cmd(c: Context, expected: tuple[int, str] | None, as_json: bool) -> None:
    """校验利用登记的哈希链 Verify the access register's hash chain: exit 0 intact, 1 broken."""
    from ..accounts.register import verify_register

    _verified(c, verify_register, "user-verify-register", "register", expected, as_json)


def _verified(c: Context, check: Callable[..., Verification], command: str, texts: str,
              expected: tuple[int, str] | None, as_json: bool) -> None:
    """Verify a chain of the state database (``check``) and say so: JSON ``hsar/<command>/1`` or the texts
    ``<texts>.verified`` / ``<texts>.broken`` with each problem; exit 0 intact, 1 broken."""
    from .exits import Exit

    with _state(c) as state:
        found = check(state, expected_head=expected)
    if as_json:
        emit_result(command, {"checked": found.checked, "head": f"{found.head_seq}:{found.head_hash}",
                              "problems": [p.to_dict(c.lang) for p in found.problems]}, ok=found.ok)
    else:
        click.echo(messages.text(f"{texts}.verified" if found.ok else f"{texts}.broken", c.lang,
                                 checked=found.checked, count=len(found.problems),
                                 head=f"{found.head_seq}:{found.head_hash}"))
        for problem in found.problems:
            click.echo(f"  [{problem.code}] {problem.render(c.lang)}")
    raise SystemExit(Exit.of(found.ok))


@user.command("log")
@click.option("--user", "username", help="只列出此账户所做或所涉的事件 Only events by or about this account.")
@click.option("--event", type=click.Choice([e.value for e in Event]), help="事件 Only this event.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="自此日（北京时间）起 From this day (Beijing time).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True,
              help="最多列出最新的若干条 At most this many, the newest.")
@json_option()
@pass_ctx
def log_cmd(c: Context, username: str | None, event: str | None, since: datetime | None, limit: int,
            as_json: bool) -> None:
    """列出安全审计日志 List the security log: sign-ins, failures and locks, sign-outs, account and token changes."""
    from ..accounts.securitylog import list_events, shown_detail

    if since is not None and not 1900 <= since.year <= 9998:
        raise click.BadParameter(since.date().isoformat(), param_hint="--since")
    start = since.replace(tzinfo=messages.LOCAL_ZONE) if since is not None else None
    with _state(c) as state:
        found = list_events(state, username=username, event=event, since=start, newest=limit)
    if as_json:
        emit_result("user-log", {"entries": [e.to_dict() for e in found]})
        return
    if not found:
        click.echo(messages.text("securitylog.none", c.lang))
    for e in found:
        who = f"{e.username} ({e.role})" if e.role else e.username
        click.echo("\t".join((str(e.seq), messages.local_stamp(e.at), who or "-",
                              messages.label("securitylog.event", e.event, c.lang), e.subject or "-",
                              e.address or "-", shown_detail(e, c.lang))).rstrip("\t"))


@user.command("verify-log")
@click.option("--expect", "expected", metavar="SEQ:HASH", callback=_head,
              help="先前记下的链头（须仍在链中） A head noted earlier, which must still be in the chain.")
@json_option()
@pass_ctx
def verify_log_cmd(c: Context, expected: tuple[int, str] | None, as_json: bool) -> None:
    """校验安全审计日志的哈希链 Verify the security log's hash chain: exit 0 intact, 1 broken."""
    from ..accounts.securitylog import verify_log

    _verified(c, verify_log, "user-verify-log", "securitylog", expected, as_json)
