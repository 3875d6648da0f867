"""``hsar ingest``, ``hsar show`` and ``hsar rebuild-catalog``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import Context, cli, emit_json, pass_ctx
from .sip import render_issue

if TYPE_CHECKING:
    from ..home import Repository
    from ..ingest.pipeline import IngestOutcome

_STATUS = {"ingested": ("已入库", "ingested"), "duplicate": ("重复，未变更", "duplicate, nothing changed"),
           "rejected": ("已拒收", "rejected")}


def _repo(c: Context, *, recover: bool = False) -> Repository:
    """The home's handles; with ``recover``, first clear what a killed ingest left (unless one is running)."""
    from ..home import Repository

    repo = Repository.open(c.home)
    if recover:
        from ..ingest.pipeline import recover_if_idle

        try:
            recover_if_idle(repo)
        except BaseException:
            repo.close()
            raise
    return repo


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="每个提交包输出一行 JSON 对象 One JSON object per SIP, one per line (JSON Lines).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="并行准备提交包的进程数 Processes preparing SIPs in parallel.")
@pass_ctx
def ingest_cmd(c: Context, paths: tuple[Path, ...], as_json: bool, workers: int) -> None:
    """接收入库 Ingest SIPs (directories or .zip/.tar/.tar.gz) in the order given.

    A folder that is not itself a bag is expanded to the bags and packages inside it, sorted by name.
    Exit 0 when every SIP was ingested or was an exact duplicate, 1 when any was rejected.
    """
    from ..errors import UsageError
    from ..ingest.pipeline import ingest

    sips, skipped = _expand(paths)
    if skipped:
        click.echo(c.t("已跳过（不是提交包）：", "skipped (not a bag or package): ")
                   + ", ".join(str(p) for p in skipped), err=True)
    if not sips:
        raise UsageError(c.t("没有找到提交包", "no SIPs found in the paths given"))
    with _repo(c) as repo:
        show_bar = not as_json and sys.stderr.isatty()
        with click.progressbar(length=len(sips), label=c.t("入库", "ingest"), file=sys.stderr,
                               hidden=not show_bar) as bar:
            def progress(outcome: IngestOutcome) -> None:
                bar.update(1)
                if as_json:  # one line per SIP, so a consumer can read the stream as it comes
                    click.echo(json.dumps(outcome.to_dict(c.lang), ensure_ascii=False, default=str))
                else:
                    _render_outcome(c, outcome)

            outcomes = ingest(repo, sips, workers=workers, progress=progress)
    counts = {s: sum(o.status == s for o in outcomes) for s in _STATUS}
    if not as_json:
        click.echo(c.t(f"共 {len(outcomes)} 个：入库 {counts['ingested']}，重复 {counts['duplicate']}，拒收 {counts['rejected']}",
                       f"{len(outcomes)} SIPs: {counts['ingested']} ingested, {counts['duplicate']} duplicate, "
                       f"{counts['rejected']} rejected"))
    raise SystemExit(1 if counts["rejected"] else 0)


_PACKAGE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".gz", ".bz2",
                     ".xz", ".rar", ".7z", ".zst")  # what an unsupported one is, receive tells (PKG001)


def _looks_like_sip(path: Path) -> bool:
    """A bag (even a broken one: a folder with data/ or a manifest but no bagit.txt) or a package file."""
    if path.name.startswith("."):
        return False
    if path.is_dir():
        return ((path / "bagit.txt").exists() or (path / "data").is_dir()
                or any(path.glob("manifest-*.txt")))
    return path.name.lower().endswith(_PACKAGE_SUFFIXES)


def _expand(paths: tuple[Path, ...]) -> tuple[list[Path], list[Path]]:
    """(SIPs, entries skipped): bags and packages named, or found one level down in a folder that is not
    a bag itself. Broken bags and unsupported packages count as SIPs, so they are rejected with a reason
    instead of being left out without a word."""
    sips: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if path.is_dir() and not _looks_like_sip(path):
            for child in sorted(path.iterdir()):
                (sips if _looks_like_sip(child) else skipped).append(child)
        else:
            sips.append(path)
    return sips, skipped


def _render_outcome(c: Context, outcome: IngestOutcome) -> None:
    label = _STATUS[outcome.status][0 if c.lang == "zh" else 1]
    where = f" → {outcome.archive_id} {outcome.version}" if outcome.version else ""
    click.echo(f"{'✘' if outcome.status == 'rejected' else '✔'} {Path(outcome.sip).name}: {label}{where}")
    for i in outcome.issues:
        if outcome.status == "rejected" or i.severity.value != "info":
            click.echo("    " + render_issue(c, i))
    if outcome.report:
        click.echo("    " + c.t(f"报告：{outcome.report}", f"report: {outcome.report}"))


@cli.command("show")
@click.argument("archive_id")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@click.option("--mask", is_flag=True, help="遮蔽身份证号（文本与 JSON） Mask resident ID numbers (text and JSON).")
@pass_ctx
def show_cmd(c: Context, archive_id: str, as_json: bool, mask: bool) -> None:
    """查看档案 Show an archive: description, paper references, versions, items, files, events, relations."""
    from ..catalog.render import render_text
    from ..errors import HsarError
    from ..preservation.copies import printable

    shown = printable(archive_id)  # an id that is not UTF-8 (undecodable bytes on the command line) names nothing
    from ..preservation.ids import object_id

    with _repo(c, recover=True) as repo:
        view = repo.catalog.show(archive_id) if shown == archive_id else None
        where = str(repo.store.object_root(object_id(archive_id))) if view is not None else ""
    if view is None:
        raise HsarError(c.t(f"找不到档案 {shown}", f"no archive {shown}"), "NOT-FOUND")
    if as_json:
        from ..privacy import mask_value

        emit_json({**(mask_value(view.to_dict()) if mask else view.to_dict()), "object_path": where})
    else:
        click.echo(render_text(view, reveal_ids=not mask, lang=c.lang))
        click.echo(c.t(f"存储位置（OCFL 对象）：{where}", f"Stored at (OCFL object): {where}"))


@cli.command("rebuild-catalog")
@pass_ctx
def rebuild_catalog_cmd(c: Context) -> None:
    """由存储重建目录 Rebuild the catalogue from the OCFL store alone."""
    from ..catalog.rebuild import rebuild
    from ..errors import CatalogError
    from ..ingest.pipeline import ingest_lock, policy_of, recover

    with _repo(c) as repo, ingest_lock(repo):  # an ingest meanwhile would be lost (ING-BUSY)
        try:
            catalog = repo.catalog
        except CatalogError:  # unreadable: rebuilding from storage is what this command is for
            moved = repo.set_aside_catalogue()
            if moved is None:
                raise
            click.echo(c.t(f"目录无法打开，已移至 {moved}，重新建立", f"the catalogue cannot be opened; moved to "
                           f"{moved}, starting afresh"), err=True)
            catalog = repo.catalog
        recover(repo)  # what a killed ingest left, as other commands do (the lock is already held)
        count = rebuild(catalog, repo.store, policy_of=policy_of(repo.cfg))
    click.echo(c.t(f"已由存储重建 {count} 件档案的目录", f"rebuilt the catalogue of {count} archives from storage"))
