"""The demo's drawing package (reportlab) is the optional ``demo`` extra (issue 15): without it every command but
``demo-data`` works, and ``demo-data`` is the error ``ENV-NOEXTRA`` naming the extra."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Imported first by every Python started with this folder on PYTHONPATH: reportlab cannot be imported.
BLOCKER = """
import sys

class _NoReportlab:
    def find_spec(self, name, path=None, target=None):
        if name == "reportlab" or name.startswith("reportlab."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoReportlab())
"""


def _hsar(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    blocker = tmp_path / "blocker"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(BLOCKER, "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    return subprocess.run([sys.executable, "-c", "from repository.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)


def test_reportlab_is_in_the_demo_extra_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert not any(d.lower().startswith("reportlab") for d in project["dependencies"])
    assert any(d.lower().startswith("reportlab") for d in project["optional-dependencies"]["demo"])
    lock = (ROOT / "requirements.lock").read_text("utf-8")  # exported with --all-extras: make installs it
    assert "\nreportlab==" in lock and "\npillow==" in lock


def test_without_reportlab_other_commands_work_and_demo_data_names_the_extra(tmp_path: Path, demo) -> None:
    home = tmp_path / "home"
    done = _hsar(tmp_path, "--help")
    assert done.returncode == 0 and "demo-data" in done.stdout, done.stderr
    done = _hsar(tmp_path, "--home", str(home), "init")
    assert done.returncode == 0, done.stderr
    done = _hsar(tmp_path, "--home", str(home), "sip", "validate", str(demo.sips("household")[0]))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    done = _hsar(tmp_path, "--lang", "en", "demo-data", str(tmp_path / "sips"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error [ENV-NOEXTRA]: ") and "hsar[demo]" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "sips").exists()
