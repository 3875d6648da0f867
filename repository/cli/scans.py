"""``hsar scan-review``: scans' researchers' copies from the shell (开放审核, a thin adapter over
:mod:`repository.services.scan_reviews`): ``list`` the reviews, ``propose`` the copies of an archive's scans that
have no proposal yet (their ``scan-proposal`` jobs, run by ``hsar worker``; the same jobs a researcher's view or the
archive page queues, never twice). The review itself is the web's (``/scan-reviews``).

With ``--user`` the command acts as that account (``hsar user``; environment ``HSAR_USER``): an archivist or an
administrator, whose division scope limits what it sees (an archive outside it is ``NOT-FOUND``; another role or an
unknown or disabled account is ``SCAN-USER``). Without it, as the shell's operator (full rights; jobs queued with no
user). Texts come from ``data/messages/scans.json`` in ``--lang``. Exit codes (:mod:`.exits`): 0 done, 1 refused,
2 unusable arguments.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

from .. import messages
from .base import Context, cli, emit_result, json_option, pass_ctx

if TYPE_CHECKING:
    from ..access import Principal
    from ..home import Repository

_USER = click.option("--user", "username", envvar="HSAR_USER",
                     help="以该账户办理（档案管理人员或系统管理员，按其管辖区划；环境变量 HSAR_USER） "
                          "Act as this account (an archivist or administrator, within its scope; env HSAR_USER).")


def _principal(repo: Repository, username: str | None) -> Principal:
    from ..access import NATIONAL, Principal, Role
    from ..services.scan_reviews import reviewer

    if username is None:
        return Principal(f"shell:{getpass.getuser()}", Role.ADMIN, NATIONAL)
    return reviewer(repo, username)


@cli.group("scan-review")
def scan_review() -> None:
    """扫描件开放审核 Scans' researchers' copies: list their reviews, propose an archive's copies."""


@scan_review.command("list")
@click.option("--archive", "archive_id", help="只列此档案 Only this archive's scans.")
@click.option("--state", type=click.Choice(["pending", "approved", "rejected"]), default="pending",
              show_default=True, help="审核状态 The reviews in this state.")
@_USER
@json_option()
@pass_ctx
def list_cmd(c: Context, archive_id: str | None, state: str, username: str | None, as_json: bool) -> None:
    """列出扫描件审核 List the scan reviews in a state (by default those awaiting review), oldest first.

    Each line: the review's number (its page is /scan-reviews/<number>), its state, the archive, the file, its
    pages, the boxes OCR proposed, when, and who decided. An archive outside the user's scope lists nothing.
    """
    from ..services.scan_reviews import reviews

    with c.repo() as repo:
        found = reviews(repo, _principal(repo, username), archive_id=archive_id, states=(state,))
    if as_json:
        emit_result("scan-review-list", {"state": state, "archive_id": archive_id,
                                         "reviews": [row.to_dict() for row in found]})
        return
    if not found:
        click.echo(c.text("scans.cli.none"))
    for row in found:
        r = row.review
        decided = c.text("scans.cli.decided", user=r.decided_by, when=messages.local_stamp(r.decided_at)) \
            if r.decided_at is not None else ""
        click.echo(c.text("scans.cli.line", review=r.id, state=c.text(f"scans.review.state.{r.state}"),
                          archive=r.archive_id, path=r.path, pages=r.pages, boxes=row.boxes,
                          proposed=messages.local_stamp(r.proposed_at), decided=decided))


@scan_review.command("propose")
@click.argument("archive_id")
@_USER
@json_option()
@pass_ctx
def propose_cmd(c: Context, archive_id: str, username: str | None, as_json: bool) -> None:
    """为档案的扫描件生成遮盖建议 Queue the proposals of ARCHIVE_ID's scans that have none.

    One scan-proposal job for each scan without a current proposal (hsar worker runs them: OCR, then the
    proposal awaits review on /scan-reviews); a scan whose job is queued, running, or failed less than an hour
    ago is not queued again. Prints how many scans stand where and how many jobs were queued.
    """
    from ..services.scan_reviews import propose_all

    with c.repo() as repo:
        done = propose_all(repo, _principal(repo, username), archive_id, username=username)
    if as_json:
        emit_result("scan-review-propose", done.to_dict())
        return
    click.echo(c.text("scans.cli.proposed", archive=done.archive_id, scans=sum(done.counts.values()),
                      queued=done.queued, already=len(done.asked) - done.queued, **done.counts))
