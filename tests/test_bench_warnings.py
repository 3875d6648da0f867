"""Benchmark scripts apply the command line's filter of third-party warnings (issue 15): pyHanko's DSA
deprecation under cryptography >= 51 never shows in a benchmark's output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["audit", "export", "identify", "ingest", "ocr", "search", "web"]

# Loads a script as ``python bench/x.py --help`` would (its module level runs), then imports pyHanko's signers,
# as a benchmark's measured code does.
RUN = """
import runpy, sys
sys.argv = [sys.argv[1], "--help"]
if sys.argv[0] != "-":
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit:
        pass
import pyhanko.sign.signers
"""


def _stderr(script: str) -> str:
    done = subprocess.run([sys.executable, "-c", RUN, script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_benchmark_shows_no_third_party_warning(name):
    if "CryptographyDeprecationWarning" not in _stderr("-"):
        pytest.skip("this cryptography and pyHanko raise no deprecation warning on import")
    assert "Warning" not in _stderr(str(ROOT / "bench" / f"{name}.py"))
