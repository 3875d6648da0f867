"""``hsar identify PATH... [--json]``: PRONOM format identification of files, as ``fido`` and ``sf`` users expect.

One line per file (a folder is walked, sorted by path): PUID, name, MIME type, method, candidates and
warnings, tab-separated; ``--json`` prints one JSON object per line. Identification is
:class:`repository.formats.identify.Identifier` (FIDO's signatures, hsar's matcher, the differences from
FIDO listed in :mod:`repository.formats.fidodiff`). Texts come from the message catalogue in the
``--lang`` language. Exit 0 (an unidentified file is a result, not an error), 2 for a path that does not
exist.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import messages
from ..errors import UsageError
from .base import Context, cli, pass_ctx

if TYPE_CHECKING:  # FIDO's signatures load only when hsar identify runs
    from ..formats.identify import FormatFact


def _walk(paths: tuple[str, ...]) -> Iterator[Path]:
    """Files named, and the files under folders named (sorted, symbolic links not followed)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                yield from (Path(folder) / name for name in sorted(files))
        else:
            yield path


def warnings_of(fact: FormatFact) -> list[str]:
    """Message keys of what a reader of ``fact`` should be warned about."""
    keys = []
    if fact.timed_out:
        keys.append("formats.warning.timeout")
    elif not fact.identified:
        keys.append("formats.warning.unidentified")
    if fact.method == "extension":
        keys.append("formats.warning.extension_only")
    if fact.ambiguous:
        keys.append("formats.warning.ambiguous")
    if fact.encrypted:
        keys.append("formats.warning.encrypted")
    return keys


def _line(path: Path, fact: FormatFact, lang: str, as_json: bool) -> str:
    warnings = [messages.text(key, lang) for key in warnings_of(fact)]
    if as_json:
        return json.dumps({"file": str(path), "puid": fact.puid, "name": fact.name, "version": fact.version,
                           "mime": fact.mime, "method": fact.method, "candidates": list(fact.candidates),
                           "warnings": warnings, "basis": fact.basis, "encrypted": fact.encrypted},
                          ensure_ascii=False)
    return "\t".join([str(path), fact.puid or "UNKNOWN", fact.name or "-", fact.mime or "-", fact.method,
                      ",".join(fact.candidates) or "-", "; ".join(warnings) or "-"])


@cli.command("identify")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="每个文件一行 JSON One JSON object per line.")
@pass_ctx
def identify(c: Context, paths: tuple[str, ...], as_json: bool) -> None:
    """识别文件格式（PRONOM） Identify file formats (PRONOM PUIDs)."""
    for raw in paths:
        if not os.path.lexists(raw):
            raise UsageError(msgid="formats.no_such_path", path=raw)
    files = list(_walk(paths))
    from ..formats.identify import Identifier

    with Identifier(timeout_seconds=c.cfg["formats.timeout_seconds"],
                    max_read_bytes=c.cfg["formats.max_read_bytes"]) as identifier:
        facts = identifier.identify_many(files, workers=2) if files else []
    for path, fact in zip(files, facts, strict=True):
        click.echo(_line(path, fact, c.lang, as_json))
