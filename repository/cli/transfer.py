"""``hsar export``: transfer packages (移交包) and the transfer list (移交清单); receipt is ``hsar ingest``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import messages
from .base import Context, cli, emit_json, pass_ctx


@cli.command("export")
@click.argument("archive_ids", nargs=-1, required=True)
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--user", "username", default=None,
              help="以此账户的角色与辖区导出（档案员、管理员） Export as this account, with its role and division "
                   "scope (archivists and administrators); without it, the operator of the home.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def export_cmd(c: Context, archive_ids: tuple[str, ...], out: Path, username: str | None, as_json: bool) -> None:
    """移交导出 Export archives to a higher-level archive: one transfer package per archive in OUT.

    OUT must be a new or empty folder. Each package is a BagIt bag (SHA-512 manifests) holding the archive's
    OCFL object (every version's content, description, PREMIS, four-property reports and signatures) and a
    PREMIS document with the export event; OUT also gets the transfer list transfer-list.xml and .csv with
    counts and bytes per archive and in total. The receiving repository runs `hsar ingest OUT/<archive>`.
    """
    from ..services.transfer import export, principal_for

    with c.repo() as repo:
        result = export(repo, principal_for(repo, username), archive_ids, out)
    if as_json:
        emit_json(result.to_dict())
        return
    for a in result.archives:
        click.echo(messages.text("transfer.cli.exported", c.lang, archive=a.archive_id, versions=a.versions,
                                 files=a.files, bytes=a.bytes, package=out / a.package))
    totals = result.to_dict()["totals"]
    click.echo(messages.text("transfer.cli.totals", c.lang, xml=result.list_xml, csv=result.list_csv, **totals))
