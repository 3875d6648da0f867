"""A home holds personal data (resident IDs, incomes, families): everything hsar creates in it is owner-only,
whatever the umask of the shell that ran it (the home's work runs with umask 077)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

HSAR = [sys.executable, "-c", "from repository.cli import main; main()"]


def _hsar(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HSAR, "--home", str(home), *args], capture_output=True, text=True, timeout=600,
                          check=False, umask=0o022)  # a usual login shell's umask


def test_everything_a_home_holds_after_its_work_is_owner_only(demo, tmp_path: Path) -> None:
    home = tmp_path / "home"
    sip = demo.sips("household")[0]
    rejected = demo.defects()[0]
    steps = [("init",), ("ingest", str(sip), str(demo.root / rejected["path"])), ("audit", "--all"), ("reindex",),
             ("rebuild-catalog",), ("audit", "log", "--tail", "1")]
    for step in steps:
        done = _hsar(home, *step)
        assert done.returncode in (0, 1), (step, done.stderr)
    assert any((home / "rejected").iterdir()) and any((home / "reports").iterdir())
    open_to_others = []
    for folder, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                open_to_others.append(f"{path.relative_to(home)} {stat.filemode(mode)}")
    assert not open_to_others, open_to_others
    assert not home.stat().st_mode & 0o077
