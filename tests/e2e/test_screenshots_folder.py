"""Where the browser tests write the README's screenshots (no browser needed): the folder ``HSAR_SCREENSHOTS``
names, which ``make test`` (and so CI's ``.ci/run``) sets to ``docs/screenshots`` unless it is given, so the run
refreshes the README's pictures; a bare ``pytest`` run writes them into a pytest temporary folder."""

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
    make = (e2e.ROOT / "Makefile").read_text("utf-8")
    assert "HSAR_SCREENSHOTS ?= docs/screenshots\n" in make  # make test (CI's too) refreshes the README's
    assert "HSAR_SCREENSHOTS='$(HSAR_SCREENSHOTS)' $(BIN)/pytest" in make
    assert "make test" in (e2e.ROOT / ".ci" / "run").read_text("utf-8")
    if "HSAR_SCREENSHOTS" not in os.environ:  # this session's folder
        assert screenshots != docs and docs not in screenshots.parents
