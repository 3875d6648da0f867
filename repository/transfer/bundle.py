"""One download per package of a web export: the package folder as a zip holding that one folder (what
``hsar ingest`` takes as it is), stored, not compressed (the content is mostly PDF and image data already
compressed), written through a temporary name and a rename. Files are streamed
into the zip in chunks by :mod:`zipfile`; ZIP64 lifts the 4 GiB limits."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path


def zip_folder(folder: Path, target: Path) -> Path:
    """``target`` holding every file under ``folder`` (paths relative to its parent, so the zip unpacks to
    one folder named like ``folder``)."""
    temp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    os.replace(temp, target)
    return target
