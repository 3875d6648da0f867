"""The scan files of the research cache (repository/formats/scan_copies.py) and the cache's bound: no OCR and no
painting child is run here (every file a call needs is already there)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from repository.formats.cachebound import prune
from repository.formats.scan_copies import ScanCopies

KEY = "a" * 128 + "." + "b" * 16


def test_a_proposal_page_looked_up_is_marked_used_so_the_bound_spares_it(tmp_path: Path) -> None:
    """A reviewer's look-up of the proposal's pages records their use, as a researcher's look-up of a copy does: a
    pass of the cache's bound right after it (between the look-up and the send) leaves them, however old they were;
    a page nobody looked up goes."""
    copies, hour_ago = ScanCopies(tmp_path), time.time() - 3600
    pages = [copies.proposal_page(KEY, n) for n in (1, 2)]
    other = copies.proposal_page("c" * 128 + "." + "d" * 16, 1)
    for page in (*pages, other):
        page.write_bytes(b"\x89PNG" + b"\0" * 1000)
        os.utime(page, (hour_ago, hour_ago))
    assert copies.proposal_pages(tmp_path / "never-read.tif", KEY, {}, 2) == pages
    pruned = prune(tmp_path, 1)  # a bound far below what is there: everything it may remove goes
    assert [p.is_file() for p in (*pages, other)] == [True, True, False]
    assert pruned.removed == 1
