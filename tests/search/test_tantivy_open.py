"""Opening a Tantivy index many times at once (every web request does) reads its marker and never rewrites it."""

from __future__ import annotations

import threading

from repository.search.opening import open_engine
from repository.search.tantivy_engine import MARKER


def test_opening_leaves_the_marker_alone_and_is_safe_in_threads(tmp_path):
    open_engine("tantivy", tmp_path).close()
    marker = tmp_path / "tantivy" / MARKER
    written = marker.stat().st_mtime_ns, marker.read_bytes()
    errors: list[BaseException] = []

    def open_many() -> None:
        try:
            for _ in range(20):
                open_engine("tantivy", tmp_path).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (marker.stat().st_mtime_ns, marker.read_bytes()) == written
    assert [p.name for p in marker.parent.iterdir() if p.name.startswith(f".{MARKER}")] == []
