"""``hsar access-copy``: an access copy (利用副本, DIP) of an archive for a researcher, as a zip.

Exit codes (:mod:`.exits`): 0 written (and recorded in the access register), 1 refused or failed (nothing
written), 2 unusable arguments.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from .. import messages
from ..errors import AccessCopyError, UsageError
from .base import Context, cli, emit_json, pass_ctx


def _items(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts or not all(p.isascii() and p.isdigit() for p in parts):
        raise UsageError(msgid="dip.bad_items", value=value)
    return tuple(int(p) for p in parts)


@cli.command("access-copy")
@click.argument("archive_id")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--purpose", required=True, help="利用目的（记入利用登记） Purpose of use (goes into the register).")
@click.option("--items", help="件号，逗号分隔（默认全部） Item numbers, comma-separated (default: all).")
@click.option("--mask", is_flag=True,
              help="遮蔽个人信息：著录遮蔽，文件为利用件 Mask personal data: the description masked, researchers' copies "
                   "of the documents.")
@click.option("--format", "image_format", type=click.Choice(["pdf", "jpeg"]), default="pdf", show_default=True,
              help="TIFF 页转换为 TIFF pages become PDF or JPEG.")
@click.option("--user", "username",
              help="为该账户制作（按其角色与区划；利用者一律遮蔽） Make it as this account (its role and scope).")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def access_copy_cmd(c: Context, archive_id: str, out: Path, purpose: str, items: str | None, mask: bool,
                    image_format: str, username: str | None, as_json: bool) -> None:
    """生成利用副本 Write an access copy (zip) of ARCHIVE_ID to OUT for a researcher.

    The zip holds the chosen documents (TIFF pages as PDF or JPEG), the description (masked with --mask,
    and always when made for a researcher or an auditor) and a README with the contents and the purpose.
    A masked copy holds researchers' copies of the documents: each PDF's pages with personal data painted
    over, each scan as an archivist approved it; other scans and formats are left out and named in the
    README, and the scans without a proposal yet have their proposal jobs queued (hsar scan-review).
    Without --user the copy is made by the shell operator (recorded as shell:<login name>, full rights).
    """
    from ..access import NATIONAL, Principal, Role
    from ..accounts.users import get_user
    from ..services.access_copy import CopyRequest, access_copy_to, proposal_asker
    from ..state.db import open_state

    with c.repo() as repo:
        if username is None:
            principal = Principal(f"shell:{getpass.getuser()}", Role.ADMIN, NATIONAL)
        else:
            with open_state(repo.cfg.state_url) as state:
                account = get_user(state, username)
            if account is None or not account.active:
                raise AccessCopyError(msgid="dip.unknown_user", code="DIP-USER", username=username)
            principal = account.principal
        request = CopyRequest(archive_id, purpose, _items(items), mask, image_format)
        made = access_copy_to(repo, principal, request, out, lang=c.lang,
                              ask_review=proposal_asker(repo.cfg, username))
    if as_json:
        emit_json(made.to_dict() | {"path": str(out)})
        return
    click.echo(messages.text("dip.written", c.lang, path=out, count=len(made.entries),
                             masked=messages.text("dip.masked" if made.masked else "dip.unmasked", c.lang),
                             seq=made.register_seq))
