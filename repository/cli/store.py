"""``hsar ingest``, ``hsar show`` and ``hsar rebuild-catalog``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import messages
from .base import Context, cli, emit_json, emit_result, json_option, pass_ctx
from .exits import Exit
from .progress import Bar
from .sip import render_issue

if TYPE_CHECKING:
    from ..ingest.pipeline import IngestOutcome



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
    On a terminal a bar counts the SIPs' bytes as they are received (not with -q, --json or when piped).
    """
    from ..errors import UsageError
    from ..services.ingest import find_sips, ingest, sip_bytes

    found = find_sips(paths)
    if found.skipped:
        click.echo(c.text("cli.ingest.skipped", paths=", ".join(str(p) for p in found.skipped)), err=True)
    if not found.sips:
        raise UsageError(msgid="services.no_sips")
    with c.repo() as repo, Bar(not as_json and c.verbosity >= 0, c.text("cli.ingest.bar"), in_bytes=True) as bar:
        sizes = [sip_bytes(s) for s in found.sips] if bar.shown else [0] * len(found.sips)
        bar.start(sum(sizes))
        done = [0, 0]  # SIPs told, their bytes: the bytes coming in are the next SIP's

        def on_bytes(count: int) -> None:
            bar.add(count, upto=done[1] + sizes[min(done[0], len(sizes) - 1)])

        def progress(outcome: IngestOutcome) -> None:
            if as_json:  # one line per SIP, so a consumer can read the stream as it comes
                bar.echo(json.dumps(outcome.to_dict(c.lang), ensure_ascii=False, default=str))
            else:
                _render_outcome(c, outcome, bar)
            done[1] += sizes[min(done[0], len(sizes) - 1)]
            done[0] += 1
            bar.move_to(done[1])

        summary = ingest(repo, found.sips, workers=workers, progress=progress,
                         on_bytes=on_bytes if bar.shown else None)
    counts = summary.counts
    if not as_json:
        click.echo(c.text("cli.ingest.summary", total=len(summary.outcomes), **counts))
    raise SystemExit(Exit.of(summary.ok))


def _render_outcome(c: Context, outcome: IngestOutcome, bar: Bar) -> None:
    """One SIP's lines: with -q only a rejected one's; with -v its information issues too."""
    if c.verbosity < 0 and outcome.status != "rejected":
        return
    label = messages.label("ingest_status", outcome.status, c.lang)
    where = f" → {outcome.archive_id} {outcome.version}" if outcome.version else ""
    lines = [f"{'✘' if outcome.status == 'rejected' else '✔'} {Path(outcome.sip).name}: {label}{where}"]
    lines += ["    " + render_issue(c, i) for i in outcome.issues
              if outcome.status == "rejected" or i.severity.value != "info" or c.verbosity > 0]
    if outcome.report:
        lines.append("    " + c.text("cli.report", path=outcome.report))
    bar.echo("\n".join(lines))


@cli.command("show")
@click.argument("archive_id")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@click.option("--mask", is_flag=True, help="遮蔽身份证号（文本与 JSON） Mask resident ID numbers (text and JSON).")
@pass_ctx
def show_cmd(c: Context, archive_id: str, as_json: bool, mask: bool) -> None:
    """查看档案 Show an archive: description, paper references, versions, items, files, events, relations."""
    from ..catalog.render import render_text
    from ..services.archives import show, stored_at

    with c.repo() as repo:
        view = show(repo, archive_id)
        where = str(stored_at(repo, archive_id))
    if as_json:
        from ..privacy import mask_value

        emit_json({**(mask_value(view.to_dict()) if mask else view.to_dict()), "object_path": where})
    else:
        click.echo(render_text(view, reveal_ids=not mask, lang=c.lang))
        click.echo(c.text("cli.show.stored_at", where=where))


@cli.command("rebuild-catalog")
@click.option("--force", is_flag=True,
              help="存储为空而目录有档案时也重建 Rebuild even when the store holds no object but the catalogue lists archives.")
@json_option()
@pass_ctx
def rebuild_catalog_cmd(c: Context, force: bool, as_json: bool) -> None:
    """由存储重建目录 Rebuild the catalogue from the OCFL store alone."""
    from ..services.catalog import rebuild_catalog

    with c.repo() as repo:
        result = rebuild_catalog(repo, force=force)
    if as_json:
        emit_result("rebuild-catalog", {"archives": result.archives, "recovered": list(result.recovered),
                                        "set_aside": str(result.set_aside) if result.set_aside else None})
        return
    if result.set_aside is not None:
        moved = result.set_aside
        click.echo(c.text("cli.catalog.set_aside", moved=moved), err=True)
    click.echo(c.text("cli.catalog.rebuilt", count=result.archives))
