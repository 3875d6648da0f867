"""Where the browser tests write the README's screenshots (no browser needed): a pytest temporary folder, so a run
in a working tree leaves ``docs/screenshots/`` as it was; the folder ``HSAR_SCREENSHOTS`` names (CI's ``.ci/run``:
``docs/screenshots``, in the clone) when it is set."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType


def test_screenshots_go_to_a_temporary_folder_unless_told(e2e: ModuleType, screenshots: Path, tmp_path: Path) -> None:
    docs = e2e.ROOT / "docs" / "screenshots"
    assert e2e.screenshots_folder({}, lambda: tmp_path) == tmp_path
    assert e2e.screenshots_folder({"HSAR_SCREENSHOTS": " "}, lambda: tmp_path) == tmp_path
    assert e2e.screenshots_folder({"HSAR_SCREENSHOTS": "docs/screenshots"}, lambda: tmp_path) == docs
    assert e2e.screenshots_folder({"HSAR_SCREENSHOTS": str(tmp_path / "x")}, lambda: tmp_path) == tmp_path / "x"
    ci = (e2e.ROOT / ".ci" / "run").read_text("utf-8")
    assert "HSAR_SCREENSHOTS=docs/screenshots make test" in ci  # a fresh-clone CI run still refreshes them
    if "HSAR_SCREENSHOTS" not in os.environ:  # this session's folder
        assert screenshots != docs and docs not in screenshots.parents
