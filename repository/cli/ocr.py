"""``hsar ocr``: text of scanned pages (Tesseract, simplified Chinese) stored as a derivative of each page."""

from __future__ import annotations

import sys

import click

from ..messages import text
from .base import Context, cli, emit_json, pass_ctx


@cli.command("ocr")
@click.option("--archive", "archives", multiple=True, metavar="ID",
              help="只识别此档案（可多次） Only this archive (repeatable).")
@click.option("--all", "everything", is_flag=True, help="识别库中全部档案 Every archive in the store.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="同时运行的 tesseract 进程数（默认 ocr.workers） tesseract processes at once (default ocr.workers).")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def ocr_cmd(c: Context, archives: tuple[str, ...], everything: bool, workers: int | None, as_json: bool) -> None:
    """扫描页文字识别 OCR the scanned pages (TIFF, JPEG, PNG, image-only PDF) of archives.

    The text of each page is stored in the archive as a derivative (derivatives/ocr/<file>.p0001.txt, a new
    signed version with a PREMIS creation event naming tesseract, its version and the model), indexed, and
    shown on the archive page. The original files are never changed; pages that already have their text
    from the same tool and model are not read again, so a repeated run adds nothing. Exit 0; 1 for an
    unknown archive or when tesseract is missing; 2 without --archive or --all.
    """
    from ..errors import UsageError
    from ..services.ocr import run_ocr

    if bool(archives) == everything:
        raise UsageError(msgid="ocr.usage")
    with c.repo() as repo:
        with click.progressbar(length=0, label=text("ocr.progress", c.lang), file=sys.stderr,
                               hidden=as_json or not sys.stderr.isatty()) as bar:
            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(1)

            summary = run_ocr(repo, list(archives) if archives else None, workers=workers, progress=progress)
    if as_json:
        emit_json(summary.to_dict())
    else:
        for o in summary.outcomes:
            status = text(f"ocr.status.{o.status}", c.lang)
            click.echo(text("ocr.line", c.lang, archive_id=o.archive_id, status=status, version=o.version,
                            files=o.files, pages=o.pages, failed=o.failed_pages) if o.status == "added"
                       else text("ocr.line-other", c.lang, archive_id=o.archive_id, status=status))
        click.echo(text("ocr.summary", c.lang, total=len(summary.outcomes), added=summary.count("added"),
                        unchanged=summary.count("unchanged")))
