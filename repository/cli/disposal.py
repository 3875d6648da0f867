"""``hsar disposal``: retention and disposal (保管期限与销毁) from the shell, two people for every disposal.

``due`` lists archives whose retention has ended; ``propose`` asks for one to be disposed of, with a reason;
``approve`` (by a different archivist or administrator) disposes of it, leaving a signed tombstone;
``reject`` turns a proposal down; ``list`` shows proposals. The acting user is an account of ``hsar user``
(``--user``, or ``HSAR_USER``): its role must be archivist or administrator and its division scope limits
what it sees and decides. Texts come from ``data/messages/disposal.json`` in the ``--lang`` language.
"""

from __future__ import annotations

from datetime import date

import click

from .. import messages
from .base import Context, cli, emit_json, pass_ctx

_USER = click.option("--user", "username", envvar="HSAR_USER", required=True,
                     help="办理人账户（hsar user；环境变量 HSAR_USER） Acting user (an hsar account; env HSAR_USER).")


def _today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(value, param_hint="--today") from None


_TODAY = click.option("--today", "today", metavar="YYYY-MM-DD", hidden=True,
                      help="按此日期判断是否到期（测试用） Judge retention as of this day (for tests).")


@cli.group("disposal")
def disposal() -> None:
    """保管期限与销毁 Retention and disposal: due archives, proposals, two-person approval, tombstones."""


@disposal.command("due")
@click.option("--user", "username", envvar="HSAR_USER",
              help="只列此用户管辖区划内的档案 Only archives in this user's division scope.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Output JSON.")
@_TODAY
@pass_ctx
def due_cmd(c: Context, username: str | None, as_json: bool, today: str | None) -> None:
    """列出保管期限已满的档案 List archives whose retention has ended."""
    from ..services.disposal import due, user_principal

    with c.repo() as repo:
        principal = user_principal(repo, username) if username else None
        found = due(repo, principal, today=_today(today))
    if as_json:
        emit_json([d.to_dict() for d in found])
        return
    if not found:
        click.echo(messages.text("disposal.due_none", c.lang))
    for d in found:
        pending = messages.text("disposal.pending_of", c.lang, proposal=d.proposal) if d.proposal else ""
        click.echo(messages.text("disposal.due_line", c.lang, archive=d.archive_id, reference=d.reference_code,
                                 retention=messages.label("retention", d.term.retention.value, c.lang),
                                 starts=d.term.starts, ends=d.term.ends, proposal=pending))


@disposal.command("propose")
@click.argument("archive_id")
@click.option("--reason", required=True, help="销毁理由 Why the archive should be disposed of.")
@_USER
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Output JSON.")
@_TODAY
@pass_ctx
def propose_cmd(c: Context, archive_id: str, reason: str, username: str, as_json: bool, today: str | None) -> None:
    """申请销毁一件保管期限已满的档案 Propose disposing of an archive whose retention has ended."""
    from ..services.disposal import propose

    with c.repo() as repo:
        made = propose(repo, archive_id, reason, username, today=_today(today))
    if as_json:
        emit_json(made.to_dict())
    else:
        click.echo(messages.text("disposal.proposed", c.lang, proposal=made.id, archive=made.archive_id))


@disposal.command("approve")
@click.argument("proposal", type=int)
@_USER
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Output JSON.")
@_TODAY
@pass_ctx
def approve_cmd(c: Context, proposal: int, username: str, as_json: bool, today: str | None) -> None:
    """批准销毁申请并执行（须为申请人以外的档案员或管理员） Approve a proposal and dispose (another person)."""
    from ..services.disposal import approve

    with c.repo() as repo:
        done = approve(repo, proposal, username, today=_today(today))
    if as_json:
        emit_json(done.to_dict())
    else:
        click.echo(messages.text("disposal.approved", c.lang, proposal=proposal, archive=done.archive_id,
                                 tombstone=done.tombstone))


@disposal.command("reject")
@click.argument("proposal", type=int)
@_USER
@click.option("--note", default="", help="驳回理由 Why it is rejected.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Output JSON.")
@pass_ctx
def reject_cmd(c: Context, proposal: int, username: str, note: str, as_json: bool) -> None:
    """驳回销毁申请（须为申请人以外的人），不删除任何内容 Reject a proposal (another person); nothing is removed."""
    from ..services.disposal import reject

    with c.repo() as repo:
        done = reject(repo, proposal, username, note)
    if as_json:
        emit_json(done.to_dict())
    else:
        click.echo(messages.text("disposal.rejected", c.lang, proposal=done.id, archive=done.archive_id))


@disposal.command("list")
@click.option("--user", "username", envvar="HSAR_USER",
              help="只列此用户管辖区划内的申请 Only proposals in this user's division scope.")
@click.option("--state", "states", multiple=True, type=click.Choice(["pending", "disposed", "rejected"]),
              help="只列此状态 Only this state (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Output JSON.")
@pass_ctx
def list_cmd(c: Context, username: str | None, states: tuple[str, ...], as_json: bool) -> None:
    """列出销毁申请 List disposal proposals, newest first."""
    from ..services.disposal import proposals, user_principal

    with c.repo() as repo:
        principal = user_principal(repo, username) if username else None
        found = proposals(repo, principal, states or None)
    if as_json:
        emit_json([p.to_dict() for p in found])
        return
    if not found:
        click.echo(messages.text("disposal.list_none", c.lang))
    for p in found:
        decided = (messages.text("disposal.decided_by", c.lang, decided_by=p.decided_by,
                                 decided_at=messages.local_stamp(p.decided_at))
                   if p.decided_by and p.decided_at else "")
        click.echo(messages.text("disposal.list_line", c.lang, proposal=p.id,
                                 state=messages.label("disposal_state", p.state, c.lang), archive=p.archive_id,
                                 reference=p.reference_code, proposed_by=p.proposed_by,
                                 proposed_at=messages.local_stamp(p.proposed_at), decided=decided,
                                 reason=p.reason))
